"""Result records in the original implementation's format.

One JSON object per line (a JSON array is accepted too) with `benchmark_id`, `label`,
`is_privacy`, an optional `scenario` object (its id under `scenario`, or under `id` as the original
scripts write it, and `is_privacy`), the model's
`response` and the verdict under `eval_resp` (or another key).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..common.atomic import write_text
from ..common.errors import Problem, SpyDataError
from ..common.text_files import read_utf8
from .metrics import JudgedSample

DEFAULT_EVAL_KEY = "eval_resp"


class Records(list):
    """The records of one file, and where each stands in it (`where(i)`: "line 12", or "record 3" of a JSON
    array), so that every later problem can name the line."""

    def __init__(self, file: str, records: list[dict], places: list[str]):
        super().__init__(records)
        self.file, self.places = file, places

    def where(self, i: int) -> str:
        return self.places[i]


def read_records(path: str | Path) -> Records:
    """Read JSON Lines (or a JSON array) of objects; bad bytes, bad JSON and non-objects name the file and line.
    The one reader of every record-reading command (`metrics`, `judge`, `judge-agreement`, `export`)."""
    path = Path(path)
    text = read_utf8(path)
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as err:
            raise SpyDataError([Problem(str(path), f"malformed JSON at line {err.lineno}: {err.msg}")]) from None
        if not isinstance(records, list):
            raise SpyDataError([Problem(str(path), "expected JSON Lines or a JSON array of objects")])
        places = [f"record {i}" for i in range(len(records))]
    else:
        records, places = [], []
        # One record per "\n": `splitlines()` would also split inside texts at U+2028, \x85, \x0b, ...
        for number, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise SpyDataError([Problem(str(path), f"malformed JSON: {err.msg}", f"line {number}")]) from None
            places.append(f"line {number}")
    bad = [
        Problem(str(path), "expected a JSON object", place)
        for r, place in zip(records, places, strict=True)
        if not isinstance(r, dict)
    ]
    if bad:
        raise SpyDataError(bad)
    return Records(str(path), records, places)


def record_problems(records: Records, required: tuple[str, ...] = ()) -> list[Problem]:
    """Every field of the original format that is missing (of `required`) or of the wrong type, by file, line
    and field. The verdict's field is read as the original scripts read it (`normalise_verdict`): any value."""
    problems = []
    for i, rec in enumerate(records):
        where = records.where(i)
        problems += [Problem(records.file, "missing", where, key) for key in required if key not in rec]
        for key, (ok, expected) in FIELD_CHECKS.items():
            if key in rec and not ok(rec[key]):
                problems.append(Problem(records.file, f"{expected}, got {rec[key]!r:.60}", where, key))
        scenario = rec.get("scenario")
        if isinstance(scenario, dict) and "is_privacy" in scenario and not _binary(scenario["is_privacy"]):
            problems.append(
                Problem(
                    records.file, f"must be 0 or 1, got {scenario['is_privacy']!r:.60}", where, "scenario.is_privacy"
                )
            )
    return problems


def _binary(value: Any) -> bool:
    return value in (0, 1) and not isinstance(value, float) or value in ("0", "1")


def _text(value: Any) -> bool:
    return isinstance(value, str)


FIELD_CHECKS = {
    "benchmark_id": (lambda v: isinstance(v, (str, int)) and not isinstance(v, bool), "must be a string or an integer"),
    "label": (_text, "must be a string"),
    "is_privacy": (_binary, "must be 0 or 1"),
    "scenario": (lambda v: v is None or isinstance(v, dict), "must be null or an object"),
    "question": (_text, "must be a string"),
    "attribute": (_text, "must be a string"),
    "index": (lambda v: isinstance(v, int) and not isinstance(v, bool), "must be an integer"),
}
"""The original format's fields: what each must be where it is present."""


def read_result_records(path: str | Path) -> Records:
    """`read_records`, refusing a file that holds none: an empty result must not read as a score of N/A."""
    records = read_records(path)
    if not records:
        raise SpyDataError([Problem(str(path), "holds no records (expected JSON Lines or a JSON array of objects)")])
    return records


def write_records(path: str | Path, records: Iterable[dict]) -> None:
    """Write JSON Lines atomically: a crash never leaves a half-written file."""
    write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def normalise_verdict(value: Any) -> str | None:
    """The original scripts' reading of a verdict: text containing "reject" is reject, else text
    containing "respond" is respond (case-insensitive); anything else (null, errors) is None."""
    if not isinstance(value, str):
        return None
    text = value.lower()
    return "reject" if "reject" in text else "respond" if "respond" in text else None


def scenario_id(scenario: dict) -> str | None:
    """The scenario id of a record's `scenario` object: the original scripts' `id`, else ours, `scenario`.

    Pairs inside privacy scenarios are keyed by (benchmark_id, scenario id), so an id is required."""
    for key in ("id", "scenario"):
        if isinstance(scenario.get(key), (str, int)) and str(scenario[key]) != "":
            return str(scenario[key])
    return None


def to_judged(records: list[dict], file: str, eval_key: str = DEFAULT_EVAL_KEY) -> list[JudgedSample]:
    """Convert original-format records; every structural problem is reported at once (file, line, field)."""
    if not isinstance(records, Records):  # in memory: each record by its benchmark_id
        places = [str(r.get("benchmark_id", f"record {i}")) for i, r in enumerate(records)]
        records = Records(file, list(records), places)
    problems = record_problems(records, ("benchmark_id", "label", "is_privacy"))
    for i, rec in enumerate(records):
        scenario = rec.get("scenario")
        if isinstance(scenario, dict) and not ("is_privacy" in scenario and scenario_id(scenario) is not None):
            problems.append(
                Problem(
                    records.file,
                    "must be null or an object with 'is_privacy' and the scenario id "
                    "('scenario', or 'id' as the original scripts write it)",
                    records.where(i),
                    "scenario",
                )
            )
    if problems:
        raise SpyDataError(problems)
    return [
        JudgedSample(
            benchmark_id=str(rec["benchmark_id"]),
            label=str(rec["label"]),
            is_privacy=int(rec["is_privacy"]),
            scenario=scenario_id(rec["scenario"]) if rec.get("scenario") else None,
            scenario_privacy=int(rec["scenario"]["is_privacy"]) if rec.get("scenario") else None,
            verdict=normalise_verdict(rec.get(eval_key)),
        )
        for rec in records
    ]
