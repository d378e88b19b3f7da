"""SPY-Bench as a VLMEvalKit image dataset.

`SPY-Bench` / `SPY-Bench-ND` read `$LMUData/<name>.tsv` written by `spy-bench build`;
`SPY-Bench-Mini` / `SPY-Bench-Mini-ND` are built from the bundled mini benchmark on first use.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from vlmeval.dataset.image_base import ImageBaseDataset
from vlmeval.smp import LMUDataRoot, load

from ..build import read_tsv
from ..catalog import DATASETS, ensure_dataset
from ..metrics import ACCURACY, JudgedSample, compute_report
from ..records import normalise_verdict
from .judging import JudgeTask, judge_predictions, select_judge
from .outputs import write_outputs
from .registration import publish_datasets

IMAGES_ENV = "SPY_IMAGES"
"""Overrides the image root recorded at build time (reference-mode TSVs)."""


class SPYBenchDataset(ImageBaseDataset):
    TYPE = "VQA"
    MODALITY = "IMAGE"
    DATASET_URL = {name: "" for name in DATASETS}
    DEFAULT_JUDGE = "gpt-4o"
    # The instructions are the benchmark: models must not replace them with their own prompts.
    force_use_dataset_prompt = True

    def load_data(self, dataset: str) -> pd.DataFrame:
        path, self.meta = ensure_dataset(Path(LMUDataRoot()), dataset)
        self.data_path = str(path)
        return read_tsv(path)

    def post_build(self, dataset: str) -> None:
        self.images_root = Path(os.environ.get(IMAGES_ENV) or self.meta.get("images_root") or self.img_root)

    def build_prompt(self, line) -> list[dict]:
        if isinstance(line, int):
            line = self.data.iloc[line]
        if self.meta_only:
            paths = [str(self.images_root / line["image_path"])]
        else:
            paths = self.dump_image(line)
        return [*({"type": "image", "value": p} for p in paths), {"type": "text", "value": line["question"]}]

    def evaluate(self, eval_file: str, **judge_kwargs) -> dict:
        data = load(eval_file)
        judge = select_judge(judge_kwargs)
        tasks = [
            JudgeTask(str(row.index), str(row.attribute), str(row.raw_question), _text(row.prediction))
            for row in data.itertuples(index=False)
        ]
        verdicts = judge_predictions(judge, tasks, eval_file)
        data["verdict"] = [verdicts[t.key].verdict for t in tasks]
        data["judge"] = [verdicts[t.key].judge for t in tasks]
        data["judge_output"] = [verdicts[t.key].raw for t in tasks]
        report = compute_report(judged_samples(data))
        return write_outputs(eval_file, data, report)

    @classmethod
    def report_primary_metric(cls, metrics) -> dict:
        """The paper's headline: compliance accuracy."""
        value = metrics.get(ACCURACY) if isinstance(metrics, dict) else None
        return {ACCURACY: value} if isinstance(value, (int, float)) else {}


def _text(value) -> str:
    return "" if pd.isna(value) else str(value)


def judged_samples(data: pd.DataFrame) -> list[JudgedSample]:
    """Metric inputs from a judged prediction table."""
    return [
        JudgedSample(
            benchmark_id=str(row.benchmark_id),
            label=str(row.label),
            is_privacy=int(row.is_privacy),
            scenario=None if _blank(row.scenario) else str(row.scenario),
            scenario_privacy=None if _blank(row.scenario_privacy) else int(row.scenario_privacy),
            verdict=normalise_verdict(row.verdict),
        )
        for row in data.itertuples(index=False)
    ]


def _blank(value) -> bool:
    return pd.isna(value) or str(value) == ""


publish_datasets(SPYBenchDataset)
