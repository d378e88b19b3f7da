"""Everything the viewer shows, loaded once from the work dirs.

Results are found the way `spy-bench leaderboard` finds them (`leaderboard.collect`: both layouts,
complete, incomplete and failed attempts) and each result's files through `layout.find_result`
(a file in the model folder or a link there wins, else the newest run folder's). Per result:

- its leaderboard row (`leaderboard.entry_row`), with the 95% intervals of its `_score.csv`;
- the per-attribute metrics of its `_metrics.json` (the heatmap);
- its samples, from `_verdicts.jsonl` (`samples.read_samples`), checked against `_metrics.json`: when
  they disagree (a verdicts file of another evaluation), the result carries a note saying so.

A model name found in several work dirs is shown as `model (work dir name)`.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ...common.errors import Problem, SpyDataError
from ..layout import find_result
from ..leaderboard import Entry, collect, leaderboard_table
from ..metrics import HEADLINE_KEYS
from .dataset_files import Images
from .sample_cache import SampleCache
from .samples import read_samples
from .scopes import PAIR_KEYS, SCOPE_KEYS, counted_right, in_scope

NO_INTERVAL = ("", "")


@dataclass
class Run:
    """One result: a model's SPY-Bench dataset in one work dir."""

    id: int
    entry: Entry
    model_dir: Path
    by_label: dict = field(default_factory=dict)
    """`metrics group by label` of `_metrics.json` (empty when there is no result, only a failed attempt)."""
    intervals: dict[str, tuple] = field(default_factory=dict)
    """Headline key -> (ci_low, ci_high) from `_score.csv`."""
    verdicts: Path | None = None
    notes: list[str] = field(default_factory=list)
    """What a reader of this result's numbers must know (no samples, samples that disagree, ...)."""

    @property
    def model(self) -> str:
        return self.entry.model

    @property
    def dataset(self) -> str:
        return self.entry.dataset

    def file(self, suffix: str) -> Path | None:
        return find_result(self.model_dir, f"{self.model_dir.name}_{self.dataset}{suffix}")


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SpyDataError([Problem(str(path), f"cannot be read as JSON ({err})")]) from None
    if not isinstance(data, dict):
        raise SpyDataError([Problem(str(path), "expected a JSON object")])
    return data


def read_intervals(path: Path | None) -> dict[str, tuple]:
    """`ci_low` / `ci_high` of each headline metric in a `_score.csv` (none for files written without them)."""
    if path is None:
        return {}
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise SpyDataError([Problem(str(path), f"cannot be read as a score table ({err})")]) from None
    if not {"metric", "ci_low", "ci_high"} <= set(table.columns):
        return {}
    bounds = {}
    for metric, low, high in table[["metric", "ci_low", "ci_high"]].itertuples(index=False):
        if metric in HEADLINE_KEYS and low != "":
            try:
                bounds[metric] = tuple(float(v) if v != "N/A" else v for v in (low, high))
            except ValueError:
                problem = Problem(str(path), f"not a number: {low!r} / {high!r}", metric, "ci_low")
                raise SpyDataError([problem]) from None
    return bounds


def discover(work_dirs: list[Path]) -> list[Run]:
    """Every result of every work dir, as `spy-bench leaderboard` finds them; a bad work dir is an error."""
    problems, found = [], []
    for work_dir in work_dirs:
        try:
            found += [(work_dir, entry) for entry in collect(work_dir)]
        except SpyDataError as err:
            problems += err.problems
    if problems:
        raise SpyDataError(problems)
    names = {}
    for work_dir, entry in found:
        names.setdefault(entry.model, set()).add(work_dir)
    runs = []
    for work_dir, entry in found:
        model_dir = work_dir / entry.model
        if len(names[entry.model]) > 1:
            entry = dataclasses.replace(entry, model=f"{entry.model} ({work_dir.name})")
        runs.append(Run(len(runs), entry, model_dir))
    return runs


def describe(run: Run) -> None:
    """Fill in a run's per-attribute metrics, intervals and verdicts file (in place)."""
    if run.entry.metrics is None:
        return
    metrics = run.file("_metrics.json")
    run.by_label = _read_json(metrics).get("metrics group by label", {}) if metrics else {}
    run.intervals = read_intervals(run.file("_score.csv"))
    run.verdicts = run.file("_verdicts.jsonl")
    if run.verdicts is None:
        run.notes.append("no _verdicts.jsonl beside the result: its samples cannot be shown")


def disagreements(run: Run, frame: pd.DataFrame) -> list[str]:
    """`label: metric` wherever the samples' counts differ from the result's `_metrics.json`."""
    found = {"total": frame.groupby("label", observed=True).size()}
    for key in SCOPE_KEYS:
        scope = in_scope(frame, key)
        halve = 2 if key in PAIR_KEYS else 1
        found[f"{key}|all"] = scope.groupby(frame["label"], observed=True).sum() // halve
        found[f"{key}|expected"] = (scope & counted_right(frame, key)).groupby(
            frame["label"], observed=True
        ).sum() // halve
    table = pd.DataFrame(found).fillna(0).astype(int)
    wrong = []
    for label, metrics in run.by_label.items():
        if label not in table.index or table.at[label, "total"] != metrics.get("total"):
            wrong.append(f"{label}: samples")
            continue
        for key in SCOPE_KEYS:
            reported = metrics.get(key, {})
            mine = (table.at[label, f"{key}|expected"], table.at[label, f"{key}|all"])
            if mine != (reported.get("expected"), reported.get("all")):
                wrong.append(f"{label}: {key}")
    return wrong + [f"{label}: not in _metrics.json" for label in sorted(set(table.index) - set(run.by_label))]


def load_samples(run: Run) -> tuple[pd.DataFrame, list[str]]:
    """A run's sample table and what a reader must know about it (a process-pool task)."""
    frame = read_samples(run.verdicts)
    wrong = disagreements(run, frame)
    if not wrong:
        return frame, []
    shown = ", ".join(wrong[:5]) + (f" and {len(wrong) - 5} more" if len(wrong) > 5 else "")
    note = (
        f"{run.verdicts.name} does not match {run.model_dir.name}_{run.dataset}_metrics.json ({shown}): "
        "the samples shown are not the ones these scores were computed from"
    )
    return frame, [note]


def load_all(runs: list[Run], cache: SampleCache) -> tuple[list[pd.DataFrame | None], int]:
    """Every run's samples (None without a verdicts file), and how many were read rather than taken from
    the cache (which holds the tables of unchanged files); files are read by one process per core."""
    loaded: dict[int, tuple[pd.DataFrame, list[str]]] = {}
    todo = []
    for run in runs:
        if run.verdicts is None:
            continue
        hit = cache.get(run.verdicts, run.file("_metrics.json"))
        if hit is None:
            todo.append(run)
        else:
            loaded[run.id] = hit
    workers = min(len(todo), os.cpu_count() or 1)
    if workers > 1:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            fresh = list(pool.map(load_samples, todo))
    else:
        fresh = [load_samples(run) for run in todo]
    for run, value in zip(todo, fresh, strict=True):
        cache.put(run.verdicts, run.file("_metrics.json"), value)
        loaded[run.id] = value
    frames = []
    for run in runs:
        if run.id not in loaded:
            frames.append(None)
            continue
        frame, notes = loaded[run.id]
        run.notes += notes
        frames.append(frame.assign(run=np.int16(run.id)))
    return frames, len(todo)


class Store:
    """The loaded results: runs, the leaderboard, every sample, and the datasets' prompts and images."""

    def __init__(self, work_dirs: list[Path], data_root: Path, cache_dir: Path | None = None):
        self.work_dirs = work_dirs
        self.runs = discover(work_dirs)
        for run in self.runs:
            describe(run)
        self.images = Images(data_root)
        frames, self.read = load_all(self.runs, SampleCache(cache_dir))
        self.samples = _concat(frames)
        self.table = leaderboard_table([run.entry for run in self.runs])
        by_name = {(run.model, run.dataset): run.id for run in self.runs}
        keys = zip(self.table["model"], self.table["dataset"], strict=True)
        self.table.insert(0, "run", [by_name[key] for key in keys])

    def run(self, run_id: int) -> Run:
        return self.runs[run_id]


def _concat(frames: list[pd.DataFrame | None]) -> pd.DataFrame:
    """One table of every run's samples; the category columns stay categories (fast masks) across runs."""
    present = [f for f in frames if f is not None]
    if not present:
        return pd.DataFrame(columns=["run"])
    categories = [c for c in present[0].columns if isinstance(present[0][c].dtype, pd.CategoricalDtype)]
    for column in categories:
        union = pd.api.types.union_categoricals([f[column] for f in present]).categories
        for frame in present:
            frame[column] = frame[column].cat.set_categories(union)
    out = pd.concat(present, ignore_index=True)
    for column in out.columns:
        if hasattr(out[column].array, "__arrow_array__"):
            # One Arrow chunk per column, not one per result: taking a page of rows from 20 chunks costs
            # milliseconds per column, from one a few microseconds.
            single = out[column].array.__arrow_array__().combine_chunks()
            out[column] = pd.Series(pd.array(single, dtype=out[column].dtype), index=out.index)
    out["id"] = np.arange(len(out), dtype=np.int64)
    return out
