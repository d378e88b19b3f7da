"""A VLMEvalKit SPY-Bench result as records of the original implementation (`spy-bench export`).

Input: the prediction file `run.py` wrote (`<model>_<dataset>.xlsx`, `.tsv` or `.json`) and,
when present, the verdicts `evaluate()` wrote beside it (`<model>_<dataset>_verdicts.jsonl`,
matched by dataset and `index`, the answer text checked: any mismatch is an error, never a
silently attached verdict). Every cell is read as written (`prediction_files`). Output: one
JSON object per sample with `benchmark_id`, `question_id`, `label`, `is_privacy`, `scenario`
(null, or `{"scenario": id, "is_privacy": 0|1}`), `question` (as written, without instructions
or scenario), the answer under `response` and the verdict
under `eval_resp` (absent when the run was not judged). A self-moderation run keeps its three
answers: `response` (first), `resp_2` (second) and `resp_3` (third, the judged one). These
records feed `spy-bench metrics` and `spy-bench judge --response-key resp_3` as they are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from ..common.errors import Problem, SpyDataError
from .prediction_files import read_prediction_rows, same_cell
from .records import Records, read_records, record_problems

ANSWER_FIELDS = ("response", "resp_2", "resp_3")
"""A self-moderation answer triple; also its JSON keys inside VLMEvalKit's `extra_records`."""
REQUIRED_COLUMNS = (
    "index",
    "benchmark_id",
    "question_id",
    "label",
    "is_privacy",
    "scenario",
    "scenario_privacy",
    "raw_question",
    "prediction",
)
VERDICTS_SUFFIX = "_verdicts.jsonl"


def answers(row: Mapping) -> dict[str, str]:
    """`response`, plus `resp_2`/`resp_3` when the row holds a self-moderation triple."""
    try:
        triple = json.loads(row.get("extra_records") or "")
    except (TypeError, ValueError):
        triple = None
    if isinstance(triple, dict) and all(isinstance(triple.get(key), str) for key in ANSWER_FIELDS):
        return {key: triple[key] for key in ANSWER_FIELDS}
    return {"response": str(row.get("prediction") or "")}


def original_record(row: Mapping) -> dict:
    """The original-format record of one row of a SPY-Bench prediction table (no verdict).

    Ids and texts are taken as they are (strings: `0042` stays `0042`); `dataset` is kept when
    the row names it, so verdicts can be matched to their dataset later."""
    scenario = (
        None
        if str(row["scenario"]) == ""
        else {"scenario": str(row["scenario"]), "is_privacy": int(row["scenario_privacy"])}
    )
    dataset = {"dataset": str(row["dataset"])} if "dataset" in row else {}
    return {
        **dataset,
        "index": int(row["index"]),
        "benchmark_id": str(row["benchmark_id"]),
        "question_id": str(row["question_id"]),
        "label": str(row["label"]),
        "is_privacy": int(row["is_privacy"]),
        "scenario": scenario,
        "question": str(row["raw_question"]),
        **answers(row),
    }


def read_predictions(path: str | Path) -> list[dict]:
    """A SPY-Bench prediction file in any of VLMEvalKit's formats, every cell as written."""
    return read_prediction_rows(path, REQUIRED_COLUMNS)


def verdicts_path(predictions: str | Path) -> Path:
    """Where `evaluate()` writes the verdict records of a prediction file."""
    path = Path(predictions)
    return path.with_name(path.stem + VERDICTS_SUFFIX)


def previous_answers(verdicts: Path, dataset: str) -> dict[int, str]:
    """index -> judged answer of the records an earlier evaluation of `dataset` wrote (empty if none)."""
    if not verdicts.exists():
        return {}
    try:
        records = read_records(verdicts)
    except SpyDataError:
        return {}  # an unreadable earlier file is no source; the prediction file is used as is
    judged = "resp_3" if any("resp_3" in r for r in records) else "response"
    return {
        int(r["index"]): r[judged]
        for r in records
        if r.get("dataset", dataset) == dataset and isinstance(r.get(judged), str) and "index" in r
    }


def export_records(predictions: str | Path, verdicts: str | Path | None = None) -> list[dict]:
    """Original-format records of a run; verdicts from `verdicts` (default: the sibling file, if any),
    matched by dataset and index, with the answer text checked."""
    rows = read_predictions(predictions)
    flags = [
        Problem(str(predictions), f"must be 0 or 1, got {row[key]!r:.60}", f"row {number}", key)
        for number, row in enumerate(rows, 1)
        for key in ("is_privacy", "scenario_privacy")
        if str(row["scenario"]) or key == "is_privacy"
        if str(row[key]) not in ("0", "1")
    ]
    if flags:
        raise SpyDataError(flags)
    source = Path(verdicts) if verdicts else verdicts_path(predictions)
    records = [original_record(row) for row in rows]
    if verdicts or source.exists():  # an explicit path must exist; the default one may not (unjudged run)
        attach_verdicts(records, read_records(source), Path(predictions), source)
    return records


def attach_verdicts(records: list[dict], judged: Records, predictions: Path, source: Path) -> None:
    """Add `eval_resp` to each record; every mismatch (dataset, index, answer) is reported at once."""
    problems = []
    datasets = {str(r["dataset"]) for r in judged if "dataset" in r}
    foreign = sorted(d for d in datasets if not predictions.stem.endswith(f"_{d}"))
    if foreign:
        raise SpyDataError(
            [
                Problem(
                    str(source),
                    f"verdicts of dataset {', '.join(foreign)} cannot belong to the predictions in {predictions.name}",
                )
            ]
        )
    problems = record_problems(judged, ("index",))
    if problems:
        raise SpyDataError(problems)
    by_index = {rec["index"]: rec for rec in judged}
    for record in records:
        verdict = by_index.get(record["index"])
        where = f"index {record['index']}"
        if verdict is None:
            problems.append(Problem(str(source), "no verdict for this sample", where))
            continue
        for key in ("benchmark_id", *ANSWER_FIELDS):
            if key not in record or key not in verdict or verdict[key] == record[key]:
                continue
            if predictions.suffix == ".xlsx" and isinstance(verdict[key], str) and same_cell(verdict[key], record[key]):
                record[key] = verdict[key]  # the verdict holds the text that xlsx cannot tell apart
                continue
            problems.append(
                Problem(
                    str(source),
                    f"differs from the prediction file's {key} ({record[key]!r:.60} vs {verdict[key]!r:.60})",
                    where,
                    key,
                )
            )
        record["eval_resp"] = verdict.get("eval_resp")
    if problems:
        raise SpyDataError(problems)
