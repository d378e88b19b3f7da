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

from ..atomic import atomic_open
from ..build import read_embedded_image, read_tsv
from ..catalog import DATASETS, ensure_dataset
from ..metrics import ACCURACY
from .judging import JudgeTask, judge_predictions, judge_report, select_judge
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
        # Without the `image` column: embedded images are read one at a time when first needed.
        # VLMEvalKit's base class would copy each shared image into every row pointing at it.
        return read_tsv(path)

    def post_build(self, dataset: str) -> None:
        self.images_root = Path(os.environ.get(IMAGES_ENV) or self.meta.get("images_root") or self.img_root)

    def dump_image(self, line) -> list[str]:
        """Local path(s) of a row's image; embedded images are written into `img_root` once."""
        if not self.meta["embedded_images"]:
            return [str(self.images_root / line["image_path"])]
        path = Path(self.img_root) / line["image_path"]
        if not path.exists():
            # The original bytes, not VLMEvalKit's decode-and-re-save (which re-compresses JPEGs).
            offset, length = self.meta["image_offsets"][line["image_path"]]
            with atomic_open(path, "wb") as fh:
                fh.write(read_embedded_image(Path(self.data_path), offset, length))
        return [str(path)]

    def build_prompt(self, line) -> list[dict]:
        if isinstance(line, int):
            line = self.data.iloc[line]
        images = [{"type": "image", "value": p} for p in self.dump_image(line)]
        return [*images, {"type": "text", "value": line["question"]}]

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
        return write_outputs(eval_file, data, judge_report(judge, verdicts))

    @classmethod
    def report_primary_metric(cls, metrics) -> dict:
        """The paper's headline: compliance accuracy."""
        value = metrics.get(ACCURACY) if isinstance(metrics, dict) else None
        return {ACCURACY: value} if isinstance(value, (int, float)) else {}


def _text(value) -> str:
    return "" if pd.isna(value) else str(value)


publish_datasets(SPYBenchDataset)
