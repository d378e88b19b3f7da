"""A VLMEvalKit SPY-Bench result as records of the original implementation (`spy-bench export`).

Input: the prediction file `run.py` wrote (`<model>_<dataset>.xlsx`, `.tsv` or `.json`) and,
when present, the verdicts `evaluate()` wrote beside it (`<model>_<dataset>_verdicts.jsonl`,
matched by `index`). Output: one JSON object per sample with `benchmark_id`, `question_id`,
`label`, `is_privacy`, `scenario` (null, or `{"scenario": id, "is_privacy": 0|1}`), `question`
(as written, without instructions or scenario), the answer under `response` and the verdict
under `eval_resp` (absent when the run was not judged). A self-moderation run keeps its three
answers: `response` (first), `resp_2` (second) and `resp_3` (third, the judged one). These
records feed `spy-bench metrics` and `spy-bench judge --response-key resp_3` as they are.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import Problem, SpyDataError
from .records import read_records

ANSWER_FIELDS = ("response", "resp_2", "resp_3")
"""A self-moderation answer triple; also its JSON keys inside VLMEvalKit's `extra_records`."""
REQUIRED_COLUMNS = ("index", "benchmark_id", "question_id", "label", "is_privacy", "scenario",
                    "scenario_privacy", "raw_question", "prediction")
VERDICTS_SUFFIX = "_verdicts.jsonl"


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value) == ""


def _text(value: Any) -> str:
    return "" if _blank(value) else str(value)


def answers(row: Mapping) -> dict[str, str]:
    """`response`, plus `resp_2`/`resp_3` when the row holds a self-moderation triple."""
    try:
        triple = json.loads(row.get("extra_records") or "")
    except (TypeError, ValueError):
        triple = None
    if isinstance(triple, dict) and all(isinstance(triple.get(key), str) for key in ANSWER_FIELDS):
        return {key: triple[key] for key in ANSWER_FIELDS}
    return {"response": _text(row.get("prediction"))}


def original_record(row: Mapping) -> dict:
    """The original-format record of one row of a SPY-Bench prediction table (no verdict)."""
    index = row["index"]
    scenario = None if _blank(row["scenario"]) else {
        "scenario": str(row["scenario"]), "is_privacy": int(row["scenario_privacy"])}
    return {
        "index": int(index) if isinstance(index, numbers.Integral) else str(index),
        "benchmark_id": str(row["benchmark_id"]), "question_id": str(row["question_id"]),
        "label": str(row["label"]), "is_privacy": int(row["is_privacy"]), "scenario": scenario,
        "question": _text(row["raw_question"]), **answers(row),
    }


def read_predictions(path: str | Path) -> pd.DataFrame:
    """A prediction file in any of VLMEvalKit's formats (PRED_FORMAT: xlsx, tsv, json)."""
    path = Path(path)
    if not path.exists():
        raise SpyDataError([Problem(str(path), "file not found")])
    readers = {".xlsx": pd.read_excel, ".tsv": lambda p: pd.read_csv(p, sep="\t"), ".json": pd.read_json}
    if path.suffix not in readers:
        raise SpyDataError([Problem(str(path), f"unsupported prediction file type {path.suffix!r} (xlsx, tsv, json)")])
    data = readers[path.suffix](path)
    missing = [c for c in REQUIRED_COLUMNS if c not in data.columns]
    if missing:
        message = f"not a SPY-Bench prediction file: missing column(s) {', '.join(missing)}"
        raise SpyDataError([Problem(str(path), message)])
    return data


def default_verdicts_path(predictions: str | Path) -> Path:
    path = Path(predictions)
    return path.with_name(path.stem + VERDICTS_SUFFIX)


def export_records(predictions: str | Path, verdicts: str | Path | None = None) -> list[dict]:
    """Original-format records of a run; verdicts from `verdicts` (default: the sibling file, if any)."""
    data = read_predictions(predictions)
    source = Path(verdicts) if verdicts else default_verdicts_path(predictions)
    judged = None
    if verdicts or source.exists():  # an explicit path must exist; the default one may not (unjudged run)
        judged = {str(r.get("index")): r.get("eval_resp") for r in read_records(source)}
    records = []
    for row in data.to_dict("records"):
        record = original_record(row)
        if judged is not None:
            if str(record["index"]) not in judged:
                raise SpyDataError([Problem(str(source), "no verdict for this sample", f"index {record['index']}")])
            record["eval_resp"] = judged[str(record["index"])]
        records.append(record)
    return records
