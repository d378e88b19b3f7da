"""SPY-Bench as a VLMEvalKit image dataset.

`SPY-Bench` / `SPY-Bench-ND` read `$LMUData/<name>.tsv` written by `spy-bench build`;
`SPY-Bench-Mini` / `SPY-Bench-Mini-ND` are built from the bundled mini benchmark on first use.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pandas as pd
from vlmeval.dataset.image_base import ImageBaseDataset
from vlmeval.smp import LMUDataRoot, load

from ..atomic import atomic_open
from ..build import read_tsv
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
        data = read_tsv(path)
        # Embedded images stay in one column, decoded on demand: VLMEvalKit's base class would
        # copy each shared image into every row that points at it (GBs for the full benchmark).
        self.embedded = data.pop("image") if "image" in data else None
        self.holder_row = {} if self.embedded is None else _holder_rows(data["index"], self.embedded)
        return data

    def post_build(self, dataset: str) -> None:
        self.images_root = Path(os.environ.get(IMAGES_ENV) or self.meta.get("images_root") or self.img_root)

    def dump_image(self, line) -> list[str]:
        """Local path(s) of a row's image, decoding embedded images into `img_root` once."""
        if self.embedded is None:
            return [str(self.images_root / line["image_path"])]
        path = Path(self.img_root) / line["image_path"]
        if not path.exists():
            # The original bytes, not VLMEvalKit's decode-and-re-save (which re-compresses JPEGs).
            with atomic_open(path, "wb") as fh:
                fh.write(base64.b64decode(self.embedded.iloc[self.holder_row[int(line["index"])]]))
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


def _holder_rows(indices: pd.Series, images: pd.Series) -> dict[int, int]:
    """Row index -> position of the row whose `image` cell holds its base64 (shared-image convention)."""
    position = {int(index): pos for pos, index in enumerate(indices)}
    return {int(index): pos if len(cell) > 64 else position[int(cell)]
            for pos, (index, cell) in enumerate(zip(indices, images))}


def _text(value) -> str:
    return "" if pd.isna(value) else str(value)


publish_datasets(SPYBenchDataset)
