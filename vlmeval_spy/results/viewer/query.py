"""What the viewer's pages ask for: samples filtered and paged on the server, the heatmaps and the
comparison of two models, as plain dicts ready for JSON."""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ...bench.constants import ABSOLUTELY_PRIVATE
from ...bench.release import attribute_number
from ...common.errors import Problem, SpyDataError
from ..bootstrap import DEFAULT_LEVEL, DEFAULT_RESAMPLES, DEFAULT_SEED, RATIO_KEYS, item_counts, resample_scores
from ..leaderboard import COLUMNS
from ..metrics import HEADLINE_KEYS, HMS, NA, JudgedSample, score
from ..report import SCENARIO_KEYS, scenario_table
from .samples import EXCEPTION, NONE
from .scopes import PAIR_KEYS, SCOPE_KEYS, counted_right, counts, in_scope
from .store import Store

PAGE_SIZE, MAX_PAGE_SIZE = 25, 200
ANSWER_PREVIEW = 400
SETTINGS = {"plain": NONE, "privacy": 1, "conflict": 0}
"""`setting` filter -> scenario_privacy: no scenario, inside a privacy scenario, inside a non-privacy one."""
CATEGORY_FILTERS = ("label", "scenario", "verdict", "expected", "judge")


def bad(field: str, message: str) -> SpyDataError:
    return SpyDataError([Problem("request", message, field=field)])


def _values(params: Mapping[str, str], name: str) -> list[str]:
    text = params.get(name, "")
    return [v for v in text.split(",") if v != ""] if text else []


def _int(params: Mapping[str, str], name: str, default: int) -> int:
    try:
        return int(params.get(name, default))
    except ValueError:
        raise bad(name, f"not an integer: {params.get(name)!r}") from None


def run_ids(store: Store, params: Mapping[str, str]) -> set[int] | None:
    """The runs the `run`, `model` and `dataset` filters leave, None when none of them is given."""
    runs = store.runs
    chosen = None
    if "run" in params and params["run"] != "":
        try:
            chosen = {int(v) for v in _values(params, "run")}
        except ValueError:
            raise bad("run", f"not a list of run ids: {params['run']!r}") from None
    for name, attr in (("model", "model"), ("dataset", "dataset")):
        wanted = _values(params, name)
        if wanted:
            ids = {r.id for r in runs if getattr(r, attr) in wanted}
            chosen = ids if chosen is None else chosen & ids
    return chosen


def mask(store: Store, params: Mapping[str, str]) -> np.ndarray:
    """The samples every given filter keeps (the text search `q` last, on what the others leave)."""
    frame = store.samples
    keep = np.ones(len(frame), dtype=bool)
    ids = run_ids(store, params)
    if ids is not None:
        keep &= frame["run"].isin(ids).to_numpy()
    for name in CATEGORY_FILTERS:
        wanted = _values(params, name)
        if wanted:
            wanted = ["" if v == "none" else v for v in wanted]
            keep &= frame[name].isin(wanted).to_numpy()
    for name, column in (("is_privacy", "is_privacy"), ("setting", "scenario_privacy")):
        wanted = _values(params, name)
        if wanted:
            codes = [SETTINGS[v] if name == "setting" and v in SETTINGS else v for v in wanted]
            try:
                keep &= frame[column].isin([int(c) for c in codes]).to_numpy()
            except ValueError:
                raise bad(name, f"unknown value {params[name]!r}") from None
    metric = params.get("metric", "")
    if metric:
        if metric not in SCOPE_KEYS:
            raise bad("metric", f"unknown metric {metric!r}; one of {', '.join(SCOPE_KEYS)}")
        keep &= in_scope(frame, metric).to_numpy()
    correct = params.get("correct", "")
    if correct:
        if correct not in ("yes", "no"):
            raise bad("correct", "yes or no")
        right = counted_right(frame, metric) if metric else frame["correct"] == 1
        scored = frame["pair_ok"] != NONE if metric in PAIR_KEYS else frame["correct"] != NONE
        keep &= (scored & (right if correct == "yes" else ~right)).to_numpy()
    text = params.get("q", "")
    if text:
        where = np.flatnonzero(keep)
        # On the column's own (Arrow) strings: a Python object per answer would cost more than the search.
        answers = frame["answer"] if len(where) == len(frame) else frame["answer"].take(where)
        hits = answers.str.contains(text, case=False, regex=False).to_numpy(dtype=bool)
        keep[:] = False
        keep[where[hits]] = True
    return keep


def sample_page(store: Store, params: Mapping[str, str]) -> dict:
    """One page of the filtered samples, their count, and the metric's counts over them when one is chosen."""
    keep = mask(store, params)
    size = min(max(_int(params, "size", PAGE_SIZE), 1), MAX_PAGE_SIZE)
    page = max(_int(params, "page", 0), 0)
    where = np.flatnonzero(keep)
    rows = store.samples.iloc[where[page * size : (page + 1) * size]]
    out = {"total": int(len(where)), "page": page, "size": size}
    out["rows"] = [row_summary(store, row) for row in rows.to_dict("records")]
    metric = params.get("metric", "")
    if metric:
        expected, total = counts(store.samples, metric, keep)
        out["summary"] = {"metric": metric, "expected": expected, "all": total, "score": score(expected, total)}
    return out


def row_summary(store: Store, row: dict) -> dict:
    run = store.run(int(row["run"]))
    answer = row["answer"]
    return {
        "id": int(row["id"]),
        "run": run.id,
        "model": run.model,
        "dataset": run.dataset,
        "index": int(row["index"]),
        "benchmark_id": row["benchmark_id"],
        "label": row["label"],
        "attribute": row["attribute"],
        "scenario": row["scenario"],
        "scenario_privacy": int(row["scenario_privacy"]),
        "is_privacy": int(row["is_privacy"]),
        "question": row["question"],
        "expected": row["expected"],
        "verdict": row["verdict"],
        "correct": int(row["correct"]),
        "metric": row["metric"],
        "pair": row["pair"],
        "pair_ok": int(row["pair_ok"]),
        "judge": row["judge"],
        "answer": answer if len(answer) <= ANSWER_PREVIEW else answer[:ANSWER_PREVIEW] + "\u2026",
        "answer_chars": len(answer),
    }


def sample_detail(store: Store, sample_id: int) -> dict:
    """Everything about one sample: the answer verbatim, the prompt and image, the judge's output and,
    for the rule judge, why it decided so (`spy-bench judge --explain`)."""
    if not 0 <= sample_id < len(store.samples):
        raise bad("id", f"no sample {sample_id}")
    row = store.samples.iloc[sample_id].to_dict()
    run = store.run(int(row["run"]))
    prompt = store.images.dataset(run.dataset).prompt(int(row["index"]), row["benchmark_id"], row["question"])
    detail = {
        **row_summary(store, row),
        "answer": row["answer"],
        "turns": row["turns"],
        "judge_output": row["judge_output"],
        "prompt": prompt.prompt,
        "image_path": prompt.image_path,
        "prompt_problem": prompt.problem,
        "explain": rule_explanation(row) if row["judge"].startswith("exact_matching") else "",
        "notes": run.notes,
        "file": str(run.verdicts),
    }
    return detail


def rule_explanation(row: dict) -> str:
    """The rule judge's reasoning on this answer, as `spy-bench judge --explain` prints it, with a warning
    when today's rule judge decides otherwise than the recorded verdict."""
    from ...judge.rule_judge import decide
    from ...judge.rule_judge_explain import explain

    decision = decide(row["answer"], row["question"], row["attribute"] or row["label"])
    text = explain(decision)
    if row["verdict"] != EXCEPTION and decision.verdict != row["verdict"]:
        text = (
            f"NOTE: today's rule judge decides {decision.verdict}, the recorded verdict is {row['verdict']} "
            f"(judged by another version of the rules)\n{text}"
        )
    return text


def leaderboard(store: Store) -> dict:
    """The rows and columns of `spy-bench leaderboard`, each with its result's intervals and notes."""
    rows = []
    for record in store.table.to_dict("records"):
        run = store.run(record.pop("run"))
        rows.append(
            {
                "run": run.id,
                "cells": {c: _json_value(record[c]) for c in COLUMNS},
                "intervals": {k: list(v) for k, v in run.intervals.items()},
                "notes": run.notes,
                "samples": run.verdicts is not None,
            }
        )
    return {"columns": list(COLUMNS), "rows": rows, "work_dirs": [str(p) for p in store.work_dirs]}


def _json_value(value):
    if isinstance(value, (np.floating, float)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def attributes(store: Store) -> list[str]:
    labels = {label for run in store.runs for label in run.by_label}
    return sorted(labels, key=lambda label: (attribute_number(label), label))


def heatmap(store: Store, metric: str) -> dict:
    """Runs by attributes for one headline metric, from each result's `_metrics.json`, attributes by number."""
    if metric not in HEADLINE_KEYS:
        raise bad("metric", f"unknown metric {metric!r}; one of {', '.join(HEADLINE_KEYS)}")
    labels = attributes(store)
    runs = [run for run in store.runs if run.by_label]
    cells = [[_cell(run.by_label.get(label), metric) for label in labels] for run in runs]
    return {
        "metric": metric,
        "attributes": [{"label": label, "absolute": label in ABSOLUTELY_PRIVATE} for label in labels],
        "runs": [run_head(run) for run in runs],
        "cells": cells,
    }


def run_head(run) -> dict:
    return {"run": run.id, "model": run.model, "dataset": run.dataset, "notes": run.notes}


def _cell(metrics: dict | None, key: str) -> dict | None:
    if metrics is None:
        return None
    if key == HMS:
        return {"score": metrics[HMS]}
    return {"score": metrics[key]["score"], "expected": metrics[key]["expected"], "all": metrics[key]["all"]}


@functools.lru_cache(maxsize=64)
def _scenario_table(store: Store, run_id: int) -> pd.DataFrame:
    frame = store.samples[store.samples["run"] == run_id]
    return scenario_table(judged_samples(frame))


def judged_samples(frame: pd.DataFrame) -> list[JudgedSample]:
    """The samples as `metrics` reads them."""
    columns = zip(
        frame["benchmark_id"],
        frame["label"].astype(str),
        frame["is_privacy"],
        frame["scenario"].astype(str),
        frame["scenario_privacy"],
        frame["verdict"].astype(str),
        strict=True,
    )
    return [
        JudgedSample(b, label, int(p), s or None, None if sp == NONE else int(sp), None if v == EXCEPTION else v)
        for b, label, p, s, sp, v in columns
    ]


def scenarios(store: Store, metric: str) -> dict:
    """Runs by scenario ids for one scenario metric (`report.scenario_table` of each run's samples)."""
    if metric not in SCENARIO_KEYS:
        raise bad("metric", f"unknown scenario metric {metric!r}; one of {', '.join(SCENARIO_KEYS)}")
    runs = [run for run in store.runs if run.verdicts is not None]
    tables = {run.id: _scenario_table(store, run.id).set_index("scenario") for run in runs}
    ids = sorted({s for table in tables.values() for s in table.index}, key=scenario_order)
    cells = []
    for run in runs:
        table = tables[run.id]
        row = []
        for sid in ids:
            if sid not in table.index:
                row.append(None)
            elif metric == HMS:
                row.append({"score": _json_value(table.at[sid, HMS])})
            else:
                row.append({"score": _json_value(table.at[sid, metric]), "all": int(table.at[sid, f"{metric} (all)"])})
        cells.append(row)
    return {"metric": metric, "scenarios": ids, "runs": [run_head(run) for run in runs], "cells": cells}


def scenario_order(sid: str) -> tuple:
    digits = "".join(ch for ch in sid.split("_")[0] if ch.isdigit())
    return (int(digits) if digits else 1 << 30, sid)


@functools.lru_cache(maxsize=32)
def compare(store: Store, run_a: int, run_b: int, metric: str) -> dict:
    """Two results side by side per attribute: both scores, the difference (b - a) and its 95% interval,
    a paired bootstrap over the items both answered (the same resampled items for both)."""
    if metric not in RATIO_KEYS:
        raise bad("metric", f"unknown metric {metric!r}; one of {', '.join(RATIO_KEYS)}")
    runs = [store.run(r) for r in (run_a, run_b)]
    frames = [store.samples[store.samples["run"] == r.id] for r in runs]
    if any(f.empty for f in frames):
        raise bad("run", "both results need their samples (a _verdicts.jsonl)")
    shared = sorted(set(frames[0]["benchmark_id"]) & set(frames[1]["benchmark_id"]))
    notes = []
    if len(shared) < max(f["benchmark_id"].nunique() for f in frames):
        notes.append(f"compared on the {len(shared)} items both results hold")
    if runs[0].dataset != runs[1].dataset:
        notes.append(f"different datasets: {runs[0].dataset} and {runs[1].dataset}")
    per_item = [_per_item(f, shared) for f in frames]
    labels = per_item[0][2]
    column = RATIO_KEYS.index(metric)
    rows = [_difference("all attributes", np.ones(len(shared), dtype=bool), per_item, column)]
    for label in sorted(set(labels), key=lambda lab: (attribute_number(lab), lab)):
        rows.append(_difference(label, labels == label, per_item, column))
    return {"metric": metric, "runs": [run_head(r) for r in runs], "rows": rows, "notes": notes}


def _per_item(frame: pd.DataFrame, items: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(expected, all) per item and metric, and each item's attribute, for `items` in that order."""
    frame = frame[frame["benchmark_id"].isin(items)]
    order = pd.Series(range(len(items)), index=items)
    frame = frame.iloc[np.argsort(order[frame["benchmark_id"]].to_numpy(), kind="stable")]
    expected, total = item_counts(judged_samples(frame))
    labels = frame.drop_duplicates("benchmark_id")["label"].astype(str).to_numpy()
    return expected, total, labels


def _difference(name: str, chosen: np.ndarray, per_item: list, column: int) -> dict:
    (ea, ta, _), (eb, tb, _) = per_item
    ea, ta, eb, tb = ea[chosen], ta[chosen], eb[chosen], tb[chosen]
    a = score(int(ea[:, column].sum()), int(ta[:, column].sum()))
    b = score(int(eb[:, column].sum()), int(tb[:, column].sum()))
    out = {"attribute": name, "absolute": name in ABSOLUTELY_PRIVATE, "a": a, "b": b, "items": int(chosen.sum())}
    if NA in (a, b):
        return {**out, "difference": NA, "ci": [NA, NA]}
    rng = np.random.default_rng(DEFAULT_SEED)
    n = len(ea)
    weights = rng.multinomial(n, np.full(n, 1 / n), size=DEFAULT_RESAMPLES).astype(float)
    keys = list(HEADLINE_KEYS).index(RATIO_KEYS[column])
    diff = resample_scores(eb, tb, weights)[:, keys] - resample_scores(ea, ta, weights)[:, keys]
    diff = diff[~np.isnan(diff)]
    tail = (1 - DEFAULT_LEVEL) / 2 * 100
    low, high = np.percentile(diff, [tail, 100 - tail]) if diff.size else (NA, NA)
    return {**out, "difference": b - a, "ci": [_json_value(low), _json_value(high)]}
