"""Agreement between two judges' verdicts on the same answers: raw agreement and Cohen's kappa.

Records (original format, `vlmeval_spy.results.records`) are matched by (benchmark_id, is_privacy,
scenario id). Only pairs where both verdicts are respond or reject are compared; pairs with a
failure on either side and records present in one file only are counted apart.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from ..bench.constants import REJECT, RESPOND
from ..bench.release import attribute_number
from ..common.errors import Problem, SpyDataError
from .metrics import NA
from .records import DEFAULT_EVAL_KEY, normalise_verdict, read_result_records, record_problems, scenario_id

MatchKey = tuple[str, int, str | None]


def match_key(record: dict) -> MatchKey:
    scenario = record.get("scenario")
    return str(record["benchmark_id"]), int(record["is_privacy"]), scenario_id(scenario) if scenario else None


def index_records(path: str | Path, eval_key: str = DEFAULT_EVAL_KEY) -> dict[MatchKey, tuple[str, str | None]]:
    """match key -> (label, verdict or None); duplicate keys, missing fields and fields of the wrong type are
    errors naming the file, line and field."""
    records = read_result_records(path)
    problems = record_problems(records, ("benchmark_id", "label", "is_privacy"))
    if problems:
        raise SpyDataError(problems)
    index: dict[MatchKey, tuple[str, str | None]] = {}
    for i, rec in enumerate(records):
        key = match_key(rec)
        if key in index:
            problems.append(Problem(str(path), f"duplicate record {key}", records.where(i)))
        index[key] = (str(rec["label"]), normalise_verdict(rec.get(eval_key)))
    if problems:
        raise SpyDataError(problems)
    return index


def cohen_kappa(pairs: list[tuple[str, str]]) -> float | str:
    """Cohen's kappa of (verdict A, verdict B) pairs; N/A when it is undefined (no pairs, or chance agreement is 1)."""
    n = len(pairs)
    if not n:
        return NA
    observed = sum(a == b for a, b in pairs) / n
    a_counts, b_counts = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    chance = sum(a_counts[v] * b_counts[v] for v in (RESPOND, REJECT)) / (n * n)
    return NA if chance == 1 else (observed - chance) / (1 - chance)


def summarise(pairs: list[tuple[str, str]]) -> dict:
    """Agreement (percent), kappa and the 2x2 table of verdict pairs."""
    n = len(pairs)
    table = Counter(pairs)
    return {
        "pairs": n,
        "agreement": sum(a == b for a, b in pairs) / n * 100 if n else NA,
        "kappa": cohen_kappa(pairs),
        "table": {f"{a}/{b}": table[(a, b)] for a in (RESPOND, REJECT) for b in (RESPOND, REJECT)},
    }


def agreement(path_a: str | Path, path_b: str | Path, eval_key: str = DEFAULT_EVAL_KEY) -> dict:
    """Overall and per-attribute agreement of the verdicts in two record files (A/B in the table)."""
    a, b = index_records(path_a, eval_key), index_records(path_b, eval_key)
    shared = [k for k in a if k in b]
    by_label: dict[str, list[tuple[str, str]]] = defaultdict(list)
    failures = 0
    for key in shared:
        (label, va), (_, vb) = a[key], b[key]
        if va is None or vb is None:
            failures += 1
        else:
            by_label[label].append((va, vb))
    labels = sorted(by_label, key=lambda label: (attribute_number(label), label))
    return {
        "files": {"a": str(path_a), "b": str(path_b)},
        "overall": summarise([p for label in labels for p in by_label[label]]),
        "matched": len(shared),
        "with failure": failures,
        "only in a": len(a) - len(shared),
        "only in b": len(b) - len(shared),
        "by label": {label: summarise(by_label[label]) for label in labels},
    }
