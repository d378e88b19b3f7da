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
from .metrics import JudgedSample

DEFAULT_EVAL_KEY = "eval_resp"


def read_records(path: str | Path) -> list[dict]:
    """Read JSON Lines (or a JSON array); errors name the file and the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpyDataError([Problem(str(path), "file not found")]) from None
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as err:
            raise SpyDataError([Problem(str(path), f"malformed JSON at line {err.lineno}: {err.msg}")]) from None
    else:
        records = []
        # One record per "\n": `splitlines()` would also split inside texts at U+2028, \x85, \x0b, ...
        for number, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise SpyDataError([Problem(str(path), f"malformed JSON: {err.msg}", f"line {number}")]) from None
    bad = [
        Problem(str(path), "expected a JSON object", f"record {i}")
        for i, r in enumerate(records)
        if not isinstance(r, dict)
    ]
    if bad:
        raise SpyDataError(bad)
    return records


def read_result_records(path: str | Path) -> list[dict]:
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
    """Convert original-format records; every structural problem is reported at once."""
    problems: list[Problem] = []
    out = []
    for i, rec in enumerate(records):
        where = str(rec.get("benchmark_id", f"record {i}"))
        found = [
            Problem(file, "missing", where, key) for key in ("benchmark_id", "label", "is_privacy") if key not in rec
        ]
        scenario = rec.get("scenario")
        if scenario is not None and not (
            isinstance(scenario, dict) and "is_privacy" in scenario and scenario_id(scenario) is not None
        ):
            found.append(
                Problem(
                    file,
                    "must be null or an object with 'is_privacy' and the scenario id "
                    "('scenario', or 'id' as the original scripts write it)",
                    where,
                    "scenario",
                )
            )
        problems.extend(found)
        if found:
            continue
        out.append(
            JudgedSample(
                benchmark_id=str(rec["benchmark_id"]),
                label=str(rec["label"]),
                is_privacy=int(rec["is_privacy"]),
                scenario=scenario_id(scenario) if scenario else None,
                scenario_privacy=int(scenario["is_privacy"]) if scenario else None,
                verdict=normalise_verdict(rec.get(eval_key)),
            )
        )
    if problems:
        raise SpyDataError(problems)
    return out
