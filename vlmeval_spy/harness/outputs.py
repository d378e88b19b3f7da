"""Files `evaluate()` writes beside the prediction file, named the VLMEvalKit way, and what
VLMEvalKit's run summary reads of them.

The judge's name stands wherever the score does, with the time the score was made: `judge` and
`evaluated_at` columns in the score file, the report's first lines, `_judge.json` (`evaluated
at`), the dict `evaluate()` returns (which VLMEvalKit stores in `status.json`) and the primary
metric's name in VLMEvalKit's summary. When the judge failed on more samples than its threshold
allows, or as many answers were lost (inference failed), the score file's `status` column, the
report, the summary's metric name and the leaderboard's judge column say the result is incomplete
and how many samples have no verdict, and why (the score file's `status` column, on every row
beside the score, is `complete` otherwise).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pandas as pd
from vlmeval.smp import get_intermediate_file_path

from ..common.atomic import atomic_open, write_json
from ..judge.base import EXCEPTION, INFER_FAILED
from ..results.bootstrap import Intervals, bootstrap_intervals
from ..results.export import original_record
from ..results.metrics import ACCURACY, HEADLINE_KEYS, HMS, compute_report, headline
from ..results.records import to_judged, write_records
from ..results.report import write_report

JUDGED_BY = "verdicts by judge"
SELF_MOD_TURN = "self-moderation turn "


def score_table(metrics: dict) -> pd.DataFrame:
    """One row per headline metric: score, expected and all (hms has only a score)."""
    rows = []
    for key in HEADLINE_KEYS:
        entry = metrics[key]
        if key == HMS:
            rows.append({"metric": key, "score": entry, "expected": "", "all": ""})
        else:
            rows.append({"metric": key, "score": entry["score"], "expected": entry["expected"], "all": entry["all"]})
    rows += [{"metric": k, "score": metrics[k], "expected": "", "all": ""} for k in ("total", "exception")]
    return pd.DataFrame(rows)


def label_table(by_label: dict, attribute_text: dict[str, str]) -> pd.DataFrame:
    """One row per attribute, sorted by attribute number, with every headline score."""
    rows = [
        {"label": label, "attribute": attribute_text.get(label, ""), **headline(m)} for label, m in by_label.items()
    ]
    return pd.DataFrame(rows)


def verdict_records(data: pd.DataFrame) -> list[dict]:
    """Per-sample answers and verdicts in the original implementation's record format (`spy-bench metrics`
    reads them), with the attribute text, so that `spy-bench judge` re-sends exactly the run's prompts."""
    return [
        {
            **original_record(row),
            "attribute": str(row["attribute"]),
            "eval_resp": row["verdict"],
            "judge": row["judge"],
            "judge_output": row["judge_output"],
        }
        for row in data.to_dict("records")
    ]


def with_intervals(table: pd.DataFrame, intervals: Intervals) -> pd.DataFrame:
    """The score table with `ci_low` / `ci_high` columns (blank where a row has no interval)."""
    table = table.copy()
    for i, column in enumerate(("ci_low", "ci_high")):
        table[column] = [intervals.bounds[m][i] if m in intervals.bounds else "" for m in table["metric"]]
    return table


def completeness(judging: dict) -> str:
    """`complete`, or how many samples have no verdict, why, and what to do."""
    if judging["complete"]:
        return "complete"
    return f"incomplete: {missing_verdicts(judging)}; re-run with --reuse to send only them again"


def missing_verdicts(judging: dict) -> str:
    """e.g. `3 of 75 samples not judged (4.00%), 14 without an answer (18.67%), threshold 1.00%`."""
    samples, threshold = judging["samples"], judging["fail threshold"]
    failed, lost = judging["judge exceptions"], judging.get("inference failures", 0)
    parts = (
        [f"{failed} of {samples} samples not judged ({failed / samples:.2%})"] if failed > threshold * samples else []
    )
    if lost > threshold * samples:
        parts.append(f"{lost} of {samples} samples without an answer, inference failed ({lost / samples:.2%})")
    return ", ".join(parts) + f"; threshold {threshold:.2%}"


def judge_rows(judging: dict) -> pd.DataFrame:
    """Score-table rows of the judge report: calls made and saved, and the samples the judge failed on."""
    rows = {
        "judge calls": judging["calls"],
        "judge calls saved": judging["saved"],
        "judge exceptions": judging["judge exceptions"],
    }
    return pd.DataFrame([{"metric": k, "score": v, "expected": "", "all": ""} for k, v in rows.items()])


def exception_causes(data: pd.DataFrame) -> dict[str, int]:
    """Why samples have no verdict: failed inference (a failed self-moderation turn named as such),
    a judge error, or a judge reply the parser could not read."""
    causes: Counter[str] = Counter()
    for row in data[data["verdict"] == EXCEPTION].to_dict("records"):
        raw = str(row["judge_output"])
        if row["judge"] == INFER_FAILED:
            turn = raw.partition(SELF_MOD_TURN)[2].split(":", 1)[0]
            causes[f"{SELF_MOD_TURN}{turn} failed" if turn else "inference failed"] += 1
        elif raw.startswith("judge error: "):
            causes[raw] += 1
        else:
            causes["judge reply without a verdict"] += 1
    return dict(causes)


def write_outputs(eval_file: str, data: pd.DataFrame, judging: dict) -> dict:
    """Compute the metrics of a judged prediction table; write score (with bootstrap intervals, the judge's
    name and cost, and whether the judging is complete), per-attribute, full-metrics, per-sample and
    judge-report (`_judge.json`) files and the report (`vlmeval_spy.results.report`); return the headline dict with the
    judge's counts (what VLMEvalKit keeps in `status.json`)."""
    texts = dict(zip(data["label"].astype(str), data["attribute"].astype(str), strict=True))
    # The metrics read the per-sample records, exactly as `spy-bench metrics` reads them later.
    records = verdict_records(data)
    samples = to_judged(records, eval_file)
    report = compute_report(samples)
    intervals = bootstrap_intervals(samples)
    judging = {**judging, "exceptions by cause": exception_causes(data)}
    write_json(get_intermediate_file_path(eval_file, "_judge", "json"), judging)
    scores = pd.concat(
        [with_intervals(score_table(report["metrics"]), intervals), judge_rows(judging)], ignore_index=True
    )
    # On every row, beside each score (the score column stays numeric).
    scores["judge"], scores["status"] = judging["judge"], completeness(judging)
    scores["evaluated_at"] = judging.get("evaluated at", "")
    _write_csv(get_intermediate_file_path(eval_file, "_score", "csv"), scores)
    _write_csv(
        get_intermediate_file_path(eval_file, "_by_label", "csv"), label_table(report["metrics group by label"], texts)
    )
    write_json(get_intermediate_file_path(eval_file, "_metrics", "json"), report)
    write_records(get_intermediate_file_path(eval_file, "_verdicts", "jsonl"), records)
    # Last: the report links the files above.
    write_report(os.path.splitext(eval_file)[0], samples, report, intervals, judging)
    return {
        **headline(report["metrics"]),
        JUDGED_BY: judging[JUDGED_BY],
        "samples": judging["samples"],
        "judge exceptions": judging["judge exceptions"],
        "fail threshold": judging["fail threshold"],
    }


def judge_fail_counts(prediction_file: str | Path | None, error_message: str | None) -> dict[str, int] | None:
    """What VLMEvalKit's summary shows as `judge_fail_rate` (its `report_judge_err` hook): the samples the
    judge failed on, from `_judge.json`; every sample when the evaluation stopped with an error; None when
    there is no judge report (VLMEvalKit's own count then applies)."""
    if prediction_file is None:
        return None
    path = Path(get_intermediate_file_path(str(prediction_file), "_judge", "json"))
    if not path.exists():
        return None
    judging = json.loads(path.read_text(encoding="utf-8"))
    failed = judging["samples"] if error_message else judging["judge exceptions"]
    return {"failed": failed, "total": judging["samples"]}


def primary_metric(metrics: dict | None) -> dict:
    """The summary's primary metric (its `report_primary_metric` hook), from the flat metrics VLMEvalKit keeps:
    accuracy, named with the judge that produced it, and marked incomplete when the judge failed on more samples
    than its threshold allows."""
    value = metrics.get(ACCURACY) if isinstance(metrics, dict) else None
    if not isinstance(value, (int, float)):
        return {}
    prefix = f"{JUDGED_BY}|"
    judges = {k[len(prefix) :]: n for k, n in metrics.items() if k.startswith(prefix) and k != prefix + INFER_FAILED}
    if not judges:  # a status written before judges were recorded
        return {ACCURACY: value}
    name = f"{ACCURACY} [judge {', '.join(sorted(judges, key=judges.get, reverse=True))}]"
    samples, allowed = metrics.get("samples", 0), metrics.get("fail threshold", 0) * metrics.get("samples", 0)
    failed, lost = metrics.get("judge exceptions", 0), metrics.get(prefix + INFER_FAILED, 0)
    why = [f"{failed}/{samples} not judged"] if failed > allowed else []
    why += [f"{lost}/{samples} without an answer"] if lost > allowed else []
    if why:
        name = f"{ACCURACY} [INCOMPLETE: {', '.join(why)}; judge {', '.join(judges)}]"
    return {name: value}


def _write_csv(path: str, frame: pd.DataFrame) -> None:
    with atomic_open(path) as fh:
        frame.to_csv(fh, index=False)
