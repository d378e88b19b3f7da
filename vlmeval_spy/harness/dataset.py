"""SPY-Bench as a VLMEvalKit image dataset.

`SPY-Bench` / `SPY-Bench-ND` read `$LMUData/<name>.tsv` written by `spy-bench build`;
`SPY-Bench-Mini` / `SPY-Bench-Mini-ND` are built from the bundled mini benchmark on first use.
"""

from __future__ import annotations

import base64
import os
import warnings
from pathlib import Path

import pandas as pd
from vlmeval.dataset.image_base import ImageBaseDataset
from vlmeval.smp import LMUDataRoot

from ..bench.build import embedded_images_by_path, read_embedded_image, read_tsv
from ..bench.catalog import DATASETS, ensure_dataset
from ..common.atomic import atomic_open
from ..common.errors import Problem, SpyDataError
from ..results.attempts import now
from ..results.export import previous_answers, verdicts_path
from ..results.prediction_files import count_answers_with
from .judging import JudgeTask, asked_judge, judge_predictions, judge_report, select_judge
from .outputs import judge_fail_counts, primary_metric, write_outputs
from .predictions import exact_predictions
from .registration import publish_datasets
from .run_exit import watch_interrupts
from .run_status import record_failure, record_result

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
        watch_interrupts()  # in the process that runs the datasets, whatever reset its handlers since import
        root = os.environ.get(IMAGES_ENV) or self.meta.get("images_root")
        if not root and not self.meta["embedded_images"]:
            raise SpyDataError(
                [
                    Problem(
                        self.data_path,
                        f"the image root is unknown (no {Path(self.data_path).name}"
                        f".meta.json beside it); set {IMAGES_ENV}=IMAGE_ROOT",
                    )
                ]
            )
        self.images_root = Path(root or self.img_root)
        self._embedded: dict[str, str] | None = None
        """image_path -> base64, for an embedded TSV without recorded image positions (loaded on first use)."""

    def dump_image(self, line) -> list[str]:
        """Local path(s) of a row's image; embedded images are written into `img_root` once."""
        if not self.meta["embedded_images"]:
            return [str(self.images_root / line["image_path"])]
        path = Path(self.img_root) / line["image_path"]
        if not path.exists():
            # The original bytes, not VLMEvalKit's decode-and-re-save (which re-compresses JPEGs).
            with atomic_open(path, "wb") as fh:
                fh.write(self._image_bytes(line["image_path"]))
        return [str(path)]

    def _image_bytes(self, image_path: str) -> bytes:
        """An embedded image's original bytes: from its recorded position, else from the `image` column."""
        if "image_offsets" in self.meta:
            offset, length = self.meta["image_offsets"][image_path]
            return read_embedded_image(Path(self.data_path), offset, length)
        if self._embedded is None:
            self._embedded = embedded_images_by_path(Path(self.data_path))
        return base64.b64decode(self._embedded[image_path])

    def build_prompt(self, line) -> list[dict]:
        if isinstance(line, int):
            line = self.data.iloc[line]
        images = [{"type": "image", "value": p} for p in self.dump_image(line)]
        return [*images, {"type": "text", "value": line["question"]}]

    def evaluate(self, eval_file: str, **judge_kwargs) -> dict:
        """Judge and score the predictions; how it ended is recorded beside them (`run_status`)."""
        try:
            result, judging = self._judge_and_score(eval_file, judge_kwargs)
        except Exception as err:
            record_failure(eval_file, asked_judge(judge_kwargs), err)
            raise
        record_result(eval_file, judging)
        return result

    def _judge_and_score(self, eval_file: str, judge_kwargs: dict) -> tuple[dict, dict]:
        judge = select_judge(judge_kwargs)
        data = self.judged_frame(eval_file)
        tasks = [
            JudgeTask(str(row.index), str(row.attribute), str(row.raw_question), row.prediction)
            for row in data.itertuples(index=False)
        ]
        verdicts = judge_predictions(judge, tasks, eval_file)
        data["verdict"] = [verdicts[t.key].verdict for t in tasks]
        data["judge"] = [verdicts[t.key].judge for t in tasks]
        data["judge_output"] = [verdicts[t.key].raw for t in tasks]
        judging = {**judge_report(judge, verdicts), **data.attrs, "evaluated at": now()}
        return write_outputs(eval_file, data, judging), judging

    def judged_frame(self, eval_file: str) -> pd.DataFrame:
        """The dataset's own rows (ids and texts as built) for the file's samples, with the answers
        exactly as the model wrote them (`predictions.exact_predictions`)."""
        rows = self.data.set_index("index", drop=False)
        # Inference ran in this process when the frame holds VLMEvalKit's answers.
        in_memory = {i: str(v) for i, v in rows["prediction"].items()} if "prediction" in rows.columns else None
        previous = previous_answers(verdicts_path(eval_file), self.dataset_name)
        exact = exact_predictions(eval_file, in_memory, previous)
        indices = exact.indices
        unknown = [i for i in indices if i not in rows.index]
        if unknown:
            raise SpyDataError(
                [
                    Problem(eval_file, f"sample is not in dataset {self.dataset_name}", f"index {i}")
                    for i in unknown[:20]
                ]
            )
        data = rows.loc[indices, [c for c in rows.columns if c not in ("prediction", "extra_records", "image")]]
        data = data.reset_index(drop=True)
        for column in exact.texts:
            data[column] = exact.column(column, indices)
        data["dataset"] = self.dataset_name
        if exact.recovered:
            warnings.warn(
                f"SPY-Bench: the prediction file {eval_file} had changed some answers; recovered "
                f"{exact.recovered} (judged as the model wrote them)",
                stacklevel=2,
            )
        data.attrs = {"answers recovered": exact.recovered}
        return data

    @classmethod
    def report_primary_metric(cls, metrics) -> dict:
        """The paper's headline, compliance accuracy, named with its judge (and marked when incomplete)."""
        return primary_metric(metrics)

    @classmethod
    def report_infer_err(cls, prediction_file) -> dict:
        """The summary's `infer_fail_rate`, from the prediction column alone (VLMEvalKit loads the whole table)."""
        if prediction_file is None or not Path(prediction_file).exists():
            return {"failed": 0, "total": 0}
        try:
            failed, total = count_answers_with(prediction_file, tuple(cls.INFER_FAIL_MARKERS))
        except (SpyDataError, OSError, ValueError):  # an unreadable file: VLMEvalKit's own reading and warning
            return super().report_infer_err(prediction_file)
        return {"failed": failed, "total": total}

    @classmethod
    def report_judge_err(cls, prediction_file, *, total_samples, judge_model=None, error_message=None) -> dict:
        """The summary's `judge_fail_rate`: the samples the judge failed on, from `_judge.json`."""
        counts = judge_fail_counts(prediction_file, error_message)
        return (
            counts
            if counts is not None
            else super().report_judge_err(
                prediction_file, total_samples=total_samples, judge_model=judge_model, error_message=error_message
            )
        )


publish_datasets(SPYBenchDataset)
