"""``spy-bench judge --explain``: the rule judge's verdict on an answer, with the clause that decided it.

Input is one answer (with the item's question and attribute label) or a JSON Lines file of
records: the answer in ``answer`` (or ``response``), the question in ``question``, the attribute
in ``attribute`` or ``label`` (a label id such as ``a25_nationality``, or the attribute text).
In the hand-labelled case files of ``tests/data`` ``label`` holds the expected verdict instead;
a ``label`` of ``respond`` or ``reject`` is read that way and compared with the verdict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..common.errors import Problem, SpyDataError
from ..common.text_files import read_utf8
from .rule_judge import STRONG, WEAK, Decision, decide

VERDICTS = ("respond", "reject")


@dataclass(frozen=True)
class Case:
    """One answer to explain, and where it came from."""

    answer: str
    question: str | None = None
    label: str | None = None
    expected: str | None = None
    where: str = ""


def explain(decision: Decision) -> str:
    """The decision as text: verdict, asked attribute, deciding clause and every clause's label."""
    asked = decision.attribute or "unknown (every assertion counts as an answer)"
    lines = [f"verdict: {decision.verdict}", f"asked: {asked}; question: {decision.question_shape}"]
    where = f"clause {decision.clause + 1}" if decision.clause is not None else "the answer as a whole"
    lines.append(f"decided by {where}: {decision.reason}")
    for number, clause in enumerate(decision.clauses, 1):
        kind = clause.kind or "content (not labelled: no refusal competes)"
        lines.append(f"  {number}. [{kind}, {clause.link}]{_values(clause.kinds, clause.kind)} {clause.text.strip()}")
    return "\n".join(lines)


def _values(kinds: frozenset[str] | None, kind: str | None) -> str:
    if kinds is None or kind not in (STRONG, WEAK):
        return ""
    return f" values: {', '.join(sorted(kinds)) or 'none recognised'};"


def explain_case(case: Case) -> tuple[str, bool | None]:
    """The explanation of one case, and whether it agrees with the expected verdict (``None``: none)."""
    decision = decide(case.answer, case.question, case.label)
    agrees = None if case.expected is None else decision.verdict == case.expected
    head = [case.where] if case.where else []
    if agrees is not None:
        head.append(f"expected {case.expected}: {'agrees' if agrees else 'DISAGREES'}")
    text = explain(decision)
    return ("\n".join([" | ".join(head), text]) if head else text), agrees


def read_cases(path: Path) -> list[Case]:
    """The records of a JSON Lines file as cases; every problem (file, line, field) at once."""
    # One record per "\n": `splitlines()` would also split inside answers at U+2028, \x85, \x0b, ...
    lines = read_utf8(path).split("\n")
    cases, problems = [], []
    for number, line in enumerate(lines, 1):
        if line.strip():
            case = _case(line, str(path), number, problems)
            if case is not None:
                cases.append(case)
    if problems:
        raise SpyDataError(problems)
    if not cases:
        raise SpyDataError([Problem(str(path), "no records (one JSON object a line)")])
    return cases


def _case(line: str, file: str, number: int, problems: list[Problem]) -> Case | None:
    where = f"line {number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        problems.append(Problem(file, f"not valid JSON ({err.msg}, column {err.colno})", where))
        return None
    if not isinstance(record, dict):
        problems.append(Problem(file, "must be a JSON object", where))
        return None
    field = "answer" if "answer" in record else "response"
    found = len(problems)
    for name in (field, "question", "attribute", "label"):
        value = record.get(name)
        if (name == field and not isinstance(value, str)) or (value is not None and not isinstance(value, str)):
            problems.append(Problem(file, "missing or not a string" if name == field else "not a string", where, name))
    if len(problems) > found:
        return None
    label = record.get("label")
    expected = label if label in VERDICTS else None
    attribute = record.get("attribute") or (None if expected else label)
    return Case(record[field], record.get("question"), attribute, expected, f"{file}:{number}")


def summary(agreements: list[bool | None]) -> str | None:
    """``N/M agree with the expected verdicts`` when some cases had one."""
    known = [a for a in agreements if a is not None]
    return f"{sum(known)}/{len(known)} agree with the expected verdicts" if known else None
