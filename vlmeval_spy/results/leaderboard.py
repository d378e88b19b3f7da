"""The combined leaderboard (docs/specification.md §5) of every model in a VLMEvalKit work dir.

Results are found in both layouts of a work dir (`layout.py`: the wheel's model folder, GitHub
main's run folders and the links to them). Names older VLMEvalKit versions wrote, with the
judge before the suffix (`<model>_MMMU_DEV_VAL_exact_matching_acc.csv`,
`<model>_MME_exact_matching_score.csv`), are read too when today's name is absent.

- SPY-Bench: every `<model>_<dataset>_metrics.json` holding SPY-Bench metrics, whatever the
  dataset is called (SPY-Bench, SPY-Bench-ND, SPY-Bench-Mini, a custom build); one row each.
- MMMU_DEV_VAL: `_acc.csv`, `Overall` of the `validation` split (a fraction).
- OCRBench: `_score.json`, `Final Score Norm` (0-100).
- MME: `_score.csv`, `perception` + `reasoning` (0-2800).

A benchmark a model has no result for is reported as "missing", never as 0; the general and
overall scores then are "N/A".

Every row names the judge and when the result was made (`evaluated`). When the latest attempt
at a model and dataset failed (its `_attempt.json`, `vlmeval_spy.results.attempts`), the row says so in
`latest attempt` (`latest attempt failed (<date>, judge <judge>: <cause>)`) beside the older
result it still shows, or with no scores when there is none. An attempt record that cannot be read
is named in that column too (`attempt record unreadable (<file>: <why>)`): the result shown may not
be the latest word. Result files with bad bytes or of the wrong shape are errors naming the file.
"""

from __future__ import annotations

import datetime
import glob
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from ..common.atomic import atomic_open, write_text
from ..common.errors import Problem, SpyDataError
from ..common.text_files import read_utf8
from .attempts import FAILED, SUFFIX, Attempt, load_attempt
from .layout import find_result, run_folders
from .metrics import ACCURACY, HMS, ICS, NA, format_score
from .overall import GeneralScores, overall_score
from .plots import grouped_bars, save_png

MMMU, OCRBENCH, MME = "MMMU_DEV_VAL", "OCRBench", "MME"
GENERAL_FILES = {MMMU: "_acc.csv", OCRBENCH: "_score.json", MME: "_score.csv"}
"""Today's result-file suffixes; older VLMEvalKit versions put the judge's name before them
(`_MMMU_DEV_VAL_exact_matching_acc.csv`, `_MME_exact_matching_score.csv`), see `result_names`."""
JUDGE_INFIX = r"_[a-z0-9][a-z0-9._-]*(?:_matching)?"
"""A judge name as older file names carry it: lower case (dataset names are not), e.g. exact_matching, gpt-4o-mini."""
MISSING = "missing"
UNKNOWN = "unknown"
LATEST_ATTEMPT = "latest attempt"
COLUMNS = (
    "model",
    "dataset",
    "judge",
    "evaluated",
    ACCURACY,
    ICS,
    HMS,
    "privacy",
    "MMMU val (%)",
    "OCRBench (norm)",
    "MME (P+R)",
    "general",
    "overall",
    LATEST_ATTEMPT,
)
BENCHMARK_COLUMNS = {MMMU: "MMMU val (%)", OCRBENCH: "OCRBench (norm)", MME: "MME (P+R)"}


@dataclass(frozen=True)
class General:
    """General-benchmark results of one model; None where the model has none."""

    mmmu_val_accuracy: float | None = None
    ocrbench_norm: float | None = None
    mme_perception: float | None = None
    mme_reasoning: float | None = None

    def missing(self) -> list[str]:
        values = {MMMU: self.mmmu_val_accuracy, OCRBENCH: self.ocrbench_norm, MME: self.mme_perception}
        return [name for name, value in values.items() if value is None]

    def scores(self) -> GeneralScores | None:
        if self.missing():
            return None
        return GeneralScores(self.mmmu_val_accuracy, self.ocrbench_norm, self.mme_perception, self.mme_reasoning)


@dataclass(frozen=True)
class Entry:
    """One leaderboard row: a model's SPY-Bench metrics on one dataset and its general results."""

    model: str
    dataset: str
    metrics: dict | None
    """None when the model has no result on the dataset, only a failed attempt."""
    general: General
    judge: str = UNKNOWN
    """The judge that produced the verdicts (`_judge.json`)."""
    evaluated: str = UNKNOWN
    """When the result was made (`_judge.json`'s `evaluated at`)."""
    failed_attempt: Attempt | None = None
    """The latest attempt, when it failed after the result shown was made."""
    unreadable_attempt: str = ""
    """Why an attempt record of the model and dataset cannot be read (empty when every one can)."""


def result_names(model: str, dataset: str, suffix: str) -> tuple[str, re.Pattern]:
    """Today's file name of a result and the pattern of the names older VLMEvalKit versions wrote."""
    stem, ext = suffix.rsplit(".", 1)
    legacy = re.compile(f"{re.escape(model)}_{re.escape(dataset)}{JUDGE_INFIX}{re.escape(stem)}\\.{ext}")
    return f"{model}_{dataset}{suffix}", legacy


def _problem(path: Path, message: str) -> SpyDataError:
    return SpyDataError([Problem(str(path), message)])


def _read_json(path: Path):
    try:
        return json.loads(read_utf8(path))
    except json.JSONDecodeError as err:
        raise _problem(path, f"malformed JSON at line {err.lineno}: {err.msg}") from None


def _read_csv(path: Path) -> pd.DataFrame:
    text = read_utf8(path)
    try:
        return pd.read_csv(io.StringIO(text))
    except (ValueError, pd.errors.ParserError) as err:
        raise _problem(path, f"not a CSV table: {err}") from None


def read_mmmu(path: Path) -> float | None:
    """Validation `Overall` (a fraction); None when the file has no validation row."""
    table = _read_csv(path)
    if not {"split", "Overall"} <= set(table.columns):
        raise _problem(path, "expected VLMEvalKit's MMMU accuracy table with 'split' and 'Overall' columns")
    rows = table[table["split"] == "validation"]
    return None if rows.empty else float(rows["Overall"].iloc[0])


def read_ocrbench(path: Path) -> float:
    data = _read_json(path)
    score = data.get("Final Score Norm") if isinstance(data, dict) else None
    if not isinstance(score, (int, float)):
        raise _problem(path, "expected VLMEvalKit's OCRBench score with a numeric 'Final Score Norm'")
    return float(score)


def read_mme(path: Path) -> tuple[float, float]:
    table = _read_csv(path)
    if not {"perception", "reasoning"} <= set(table.columns):
        raise _problem(path, "expected VLMEvalKit's MME score table with 'perception' and 'reasoning' columns")
    return float(table["perception"].iloc[0]), float(table["reasoning"].iloc[0])


def read_general(model_dir: Path) -> General:
    paths = {
        name: find_result(model_dir, *result_names(model_dir.name, name, suffix))
        for name, suffix in GENERAL_FILES.items()
    }
    mme = read_mme(paths[MME]) if paths[MME] else (None, None)
    return General(
        mmmu_val_accuracy=read_mmmu(paths[MMMU]) if paths[MMMU] else None,
        ocrbench_norm=read_ocrbench(paths[OCRBENCH]) if paths[OCRBENCH] else None,
        mme_perception=mme[0],
        mme_reasoning=mme[1],
    )


def spy_results(model_dir: Path, prefix: str, suffix: str) -> set[str]:
    """Names of the model's result files `<prefix>*<suffix>`, in the model folder and its run folders."""
    pattern = f"{glob.escape(prefix)}*{suffix}"
    return {p.name for folder in (model_dir, *run_folders(model_dir)) for p in folder.glob(pattern)}


def spy_metrics(model_dir: Path) -> dict[str, dict]:
    """Dataset name -> SPY-Bench `metrics` of every SPY-Bench result of the model, in either layout."""
    prefix, suffix = f"{model_dir.name}_", "_metrics.json"
    found = {}
    for name in sorted(spy_results(model_dir, prefix, suffix)):
        data = _read_json(find_result(model_dir, name))
        # Other datasets write `_metrics.json` too: keep only SPY-Bench reports.
        if isinstance(data, dict) and "metrics group by label" in data and ICS in data.get("metrics", {}):
            found[name[len(prefix) : -len(suffix)]] = data["metrics"]
    return found


def judge_report(model_dir: Path, dataset: str) -> dict:
    """The result's `_judge.json` (empty for results written before it was recorded)."""
    path = find_result(model_dir, f"{model_dir.name}_{dataset}_judge.json")
    data = _read_json(path) if path else None
    return data if isinstance(data, dict) else {}


def judge_name(judging: dict) -> str:
    """The judge named in `_judge.json` ("unknown" for results written before it was recorded), marked
    INCOMPLETE when more samples than its threshold have no verdict."""
    judge = str(judging.get("judge", UNKNOWN))
    return f"{judge} (INCOMPLETE)" if judging.get("complete") is False else judge


def failed_attempts(model_dir: Path) -> tuple[dict[str, Attempt], dict[str, str]]:
    """Dataset name -> the latest attempt of the model at it, for the datasets where that attempt failed; and
    dataset name -> why an attempt record of it cannot be read."""
    prefix = f"{model_dir.name}_"
    latest: dict[str, Attempt] = {}
    unreadable: dict[str, str] = {}
    for folder in (model_dir, *run_folders(model_dir)):
        for path in folder.glob(f"{glob.escape(prefix)}*{SUFFIX}"):
            dataset = path.name[len(prefix) : -len(SUFFIX)]
            try:
                attempt = load_attempt(path)
            except (OSError, ValueError) as err:
                unreadable[dataset] = f"attempt record unreadable ({path}: {err})"
                continue
            if dataset not in latest or _time(attempt.at) > _time(latest[dataset].at):
                latest[dataset] = attempt
    failed = {dataset: attempt for dataset, attempt in latest.items() if attempt.outcome == FAILED}
    return failed, unreadable


def _time(text: str) -> datetime.datetime:
    """An ISO time with its offset; the earliest time for anything else (results older than the field)."""
    try:
        moment = datetime.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return datetime.datetime.min.replace(tzinfo=datetime.UTC)
    return moment if moment.tzinfo else moment.astimezone()


def model_entries(model_dir: Path) -> list[Entry]:
    """The model's rows: one per SPY-Bench result, and one per dataset it only has a failed or unreadable
    attempt at."""
    spy = spy_metrics(model_dir)
    failed, unreadable = failed_attempts(model_dir)
    if not spy and not failed and not unreadable:
        return []
    general = read_general(model_dir)
    entries = []
    for dataset in sorted(spy.keys() | failed.keys() | unreadable.keys()):
        attempt, note = failed.get(dataset), unreadable.get(dataset, "")
        if dataset not in spy:
            judge = attempt.judge if attempt else UNKNOWN
            entries.append(Entry(model_dir.name, dataset, None, general, judge, NA, attempt, note))
            continue
        judging = judge_report(model_dir, dataset)
        evaluated = str(judging.get("evaluated at", UNKNOWN))
        if attempt is not None and _time(attempt.at) <= _time(evaluated):
            attempt = None  # the result shown is newer than the failure
        entries.append(
            Entry(model_dir.name, dataset, spy[dataset], general, judge_name(judging), evaluated, attempt, note)
        )
    return entries


def collect(work_dir: str | Path) -> list[Entry]:
    """Every (model, SPY-Bench dataset) result or failed attempt under a work dir, with the model's general results."""
    work_dir = Path(work_dir)
    if not work_dir.is_dir():
        raise _problem(work_dir, "work dir not found")
    entries = [
        entry for model_dir in sorted(p for p in work_dir.iterdir() if p.is_dir()) for entry in model_entries(model_dir)
    ]
    if not entries:
        raise _problem(
            work_dir, "no SPY-Bench results found (expected WORK_DIR/<model>/<model>_<dataset>_metrics.json)"
        )
    return entries


def entry_row(entry: Entry) -> dict:
    """The leaderboard row of an entry: scores as numbers, "missing" benchmarks, "N/A" undefined scores."""
    mme = None if entry.general.mme_perception is None else entry.general.mme_perception + entry.general.mme_reasoning
    mmmu = None if entry.general.mmmu_val_accuracy is None else 100 * entry.general.mmmu_val_accuracy
    values = {MMMU: mmmu, OCRBENCH: entry.general.ocrbench_norm, MME: mme}
    row = {"model": entry.model, "dataset": entry.dataset, "judge": entry.judge, "evaluated": entry.evaluated}
    if entry.metrics is None:
        row.update(dict.fromkeys((ACCURACY, ICS, HMS, "privacy", "general", "overall"), NA))
    else:
        scores = overall_score(entry.metrics, entry.general.scores())
        row.update(
            {
                ACCURACY: entry.metrics[ACCURACY]["score"],
                ICS: entry.metrics[ICS]["score"],
                HMS: entry.metrics[HMS],
                "privacy": scores["privacy"],
                "general": scores["general"],
                "overall": scores["overall"],
            }
        )
    row.update({BENCHMARK_COLUMNS[name]: MISSING if value is None else value for name, value in values.items()})
    notes = [entry.failed_attempt.marker()] if entry.failed_attempt else []
    row[LATEST_ATTEMPT] = "; ".join(notes + ([entry.unreadable_attempt] if entry.unreadable_attempt else []))
    return row


def marked_rows(table: pd.DataFrame) -> list[str]:
    """`model (dataset): why` for each row whose result is incomplete, whose latest attempt failed or whose attempt
    record cannot be read."""
    marked = []
    for row in table.to_dict("records"):
        why = ["INCOMPLETE"] if str(row["judge"]).endswith("(INCOMPLETE)") else []
        why += [row[LATEST_ATTEMPT]] if row[LATEST_ATTEMPT] else []
        if why:
            marked.append(f"{row['model']} ({row['dataset']}): {'; '.join(why)}")
    return marked


def leaderboard_table(entries: list[Entry]) -> pd.DataFrame:
    """One row per entry, best overall first; rows without an overall score after, by privacy."""
    rows = [entry_row(e) for e in entries]

    def rank(row: dict) -> tuple:
        number = lambda v: v if isinstance(v, (int, float)) else float("-inf")  # noqa: E731
        return (-number(row["overall"]), -number(row["privacy"]), row["model"], row["dataset"])

    return pd.DataFrame(sorted(rows, key=rank), columns=list(COLUMNS))


def to_markdown(table: pd.DataFrame) -> str:
    header = "| " + " | ".join(table.columns) + " |"
    text_columns = ("model", "dataset", "judge", "evaluated", LATEST_ATTEMPT)
    rule = "|" + "|".join("---" if c in text_columns else "---:" for c in table.columns) + "|"
    body = ["| " + " | ".join(format_score(v) for v in row) + " |" for row in table.itertuples(index=False)]
    notes = (
        "",
        "privacy = (ics w/o scenario + hms) / 2; general = (MMMU val % + OCRBench norm + MME (P+R) / 28) / 3; "
        'overall = harmonic mean of privacy and general (docs/specification.md §5). "missing": no result found for '
        "that benchmark; general and overall are then N/A.",
    )
    return "\n".join(["# SPY-Bench leaderboard", "", header, rule, *body, *notes]) + "\n"


def chart(table: pd.DataFrame) -> Figure:
    """Privacy, general and overall score per row; missing benchmarks are named where a bar would be."""
    several = table["dataset"].nunique() > 1
    labels = [f"{m} ({d})" if several else m for m, d in zip(table["model"], table["dataset"], strict=True)]
    notes = []
    for row in table.to_dict("records"):
        missing = [name for name, column in BENCHMARK_COLUMNS.items() if row[column] == MISSING]
        notes.append(f"N/A, missing {', '.join(missing)}" if missing else NA)
    series = {key: list(table[key]) for key in ("privacy", "general", "overall")}
    return grouped_bars(labels, series, notes, "SPY-Bench leaderboard", "score (0-100)")


def write_leaderboard(table: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """`leaderboard.md`, `leaderboard.csv` and `leaderboard.png` in `out_dir`, written atomically."""
    out_dir = Path(out_dir)
    paths = [out_dir / f"leaderboard.{ext}" for ext in ("md", "csv", "png")]
    write_text(paths[0], to_markdown(table))
    with atomic_open(paths[1]) as fh:
        table.to_csv(fh, index=False)
    save_png(chart(table), paths[2])
    return paths
