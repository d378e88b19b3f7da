"""Files `evaluate()` writes beside the prediction file, named the VLMEvalKit way."""

from __future__ import annotations

import os

import pandas as pd
from vlmeval.smp import get_intermediate_file_path

from ..atomic import atomic_open, write_json
from ..bootstrap import Intervals, bootstrap_intervals
from ..export import original_record
from ..metrics import HEADLINE_KEYS, HMS, compute_report, headline
from ..records import to_judged, write_records
from ..report import write_report


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
    rows = [{"label": label, "attribute": attribute_text.get(label, ""), **headline(m)} for label, m in by_label.items()]
    return pd.DataFrame(rows)


def verdict_records(data: pd.DataFrame) -> list[dict]:
    """Per-sample answers and verdicts in the original implementation's record format (`spy-bench metrics` reads them)."""
    return [{**original_record(row), "eval_resp": row["verdict"], "judge": row["judge"], "judge_output": row["judge_output"]}
            for row in data.to_dict("records")]


def with_intervals(table: pd.DataFrame, intervals: Intervals) -> pd.DataFrame:
    """The score table with `ci_low` / `ci_high` columns (blank where a row has no interval)."""
    table = table.copy()
    for i, column in enumerate(("ci_low", "ci_high")):
        table[column] = [intervals.bounds[m][i] if m in intervals.bounds else "" for m in table["metric"]]
    return table


def judge_rows(judging: dict) -> pd.DataFrame:
    """Score-table rows of the judge report: judge calls made and saved."""
    rows = {"judge calls": judging["calls"], "judge calls saved": judging["saved"]}
    return pd.DataFrame([{"metric": k, "score": v, "expected": "", "all": ""} for k, v in rows.items()])


def write_outputs(eval_file: str, data: pd.DataFrame, judging: dict) -> dict:
    """Compute the metrics of a judged prediction table; write score (with bootstrap intervals and
    the judge's cost), per-attribute, full-metrics, per-sample and judge-report (`_judge.json`)
    files and the report (`vlmeval_spy.report`); return the headline dict."""
    texts = dict(zip(data["label"].astype(str), data["attribute"].astype(str)))
    # The metrics read the per-sample records, exactly as `spy-bench metrics` reads them later.
    records = verdict_records(data)
    samples = to_judged(records, eval_file)
    report = compute_report(samples)
    intervals = bootstrap_intervals(samples)
    write_json(get_intermediate_file_path(eval_file, "_judge", "json"), judging)
    scores = pd.concat([with_intervals(score_table(report["metrics"]), intervals), judge_rows(judging)], ignore_index=True)
    _write_csv(get_intermediate_file_path(eval_file, "_score", "csv"), scores)
    _write_csv(get_intermediate_file_path(eval_file, "_by_label", "csv"), label_table(report["metrics group by label"], texts))
    write_json(get_intermediate_file_path(eval_file, "_metrics", "json"), report)
    write_records(get_intermediate_file_path(eval_file, "_verdicts", "jsonl"), records)
    write_report(os.path.splitext(eval_file)[0], samples, report, intervals)  # last: it links the files above
    return headline(report["metrics"])


def _write_csv(path: str, frame: pd.DataFrame) -> None:
    with atomic_open(path) as fh:
        frame.to_csv(fh, index=False)
