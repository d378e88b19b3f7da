"""Files `evaluate()` writes beside the prediction file, named the VLMEvalKit way."""

from __future__ import annotations

import pandas as pd
from vlmeval.smp import get_intermediate_file_path

from ..atomic import atomic_open, write_json
from ..metrics import HEADLINE_KEYS, HMS, headline
from ..records import write_records


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
    """Per-sample verdicts in the original implementation's record format (`spy-bench metrics` reads them)."""
    records = []
    for row in data.itertuples(index=False):
        scenario = None if pd.isna(row.scenario) or str(row.scenario) == "" else {
            "scenario": str(row.scenario), "is_privacy": int(row.scenario_privacy)}
        records.append({
            "index": row.index, "benchmark_id": str(row.benchmark_id), "question_id": str(row.question_id),
            "label": str(row.label), "is_privacy": int(row.is_privacy), "scenario": scenario,
            "question": str(row.raw_question), "response": "" if pd.isna(row.prediction) else str(row.prediction),
            "eval_resp": row.verdict, "judge": row.judge, "judge_output": row.judge_output,
        })
    return records


def write_outputs(eval_file: str, data: pd.DataFrame, report: dict) -> dict:
    """Write score, per-attribute, full-metrics and per-sample files; return the headline dict."""
    texts = dict(zip(data["label"].astype(str), data["attribute"].astype(str)))
    _write_csv(get_intermediate_file_path(eval_file, "_score", "csv"), score_table(report["metrics"]))
    _write_csv(get_intermediate_file_path(eval_file, "_by_label", "csv"), label_table(report["metrics group by label"], texts))
    write_json(get_intermediate_file_path(eval_file, "_metrics", "json"), report)
    write_records(get_intermediate_file_path(eval_file, "_verdicts", "jsonl"), verdict_records(data))
    return headline(report["metrics"])


def _write_csv(path: str, frame: pd.DataFrame) -> None:
    with atomic_open(path) as fh:
        frame.to_csv(fh, index=False)
