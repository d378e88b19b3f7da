"""Load and validate the files of a SPY-Bench / SPY-Tune release (docs/specification.md §2).

Every problem is collected before anything is raised, so one run of `spy-bench build --check`
lists all of them with file, item and field.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..common.errors import Problem, SpyDataError
from ..common.text_files import read_utf8
from .constants import DEFAULT_TEMPLATES

Kind = Literal["benchmark", "tune"]
LIST_KEYS: dict[str, str] = {"benchmark": "benchmark_list", "tune": "data_list"}
_ATTRIBUTE_ID = re.compile(r"^a(\d+)_\w+$")
PROMPT_SEPARATOR = "\n\n"
"""Separates a prompt's instruction block from its question (docs/specification.md §3); instruction texts
must not contain it."""


@dataclass(frozen=True)
class Scenario:
    """A role-play context; `second_person` holds one `{}` for the question.

    The release's `3rd_person_template` is not kept: neither the benchmark nor SPY-Tune uses it.
    """

    id: str
    second_person: str

    def wrap(self, question: str) -> str:
        return self.second_person.format(question)


@dataclass(frozen=True)
class Item:
    """One benchmark (or SPY-Tune) item, validated and with its overrides resolved."""

    benchmark_id: str
    label: str
    question_id: str
    image_path: str
    question: str
    other_labels: dict[str, float]
    non_privacy_scenarios: tuple[Scenario, ...]
    privacy_scenarios: tuple[Scenario, ...]
    label2text: Mapping[str, str]
    templates: tuple[str, str] = DEFAULT_TEMPLATES
    gt: str = ""
    respond_ans: str = ""
    reject_ans: str = ""
    chosen_scenarios: tuple[Scenario, ...] = field(default=())

    def text(self, attribute: str) -> str:
        return self.label2text[attribute]


def attribute_number(attribute: str) -> int:
    """Sort key of VISPR attribute ids (`a25_nationality` -> 25); unknown shapes sort last."""
    match = _ATTRIBUTE_ID.match(attribute)
    return int(match.group(1)) if match else 1 << 30


def read_json(path: str | Path) -> Any:
    """Parse a JSON file, turning I/O, encoding and syntax errors into a SpyDataError naming the file."""
    path = Path(path)
    try:
        return json.loads(read_utf8(path))
    except json.JSONDecodeError as err:
        raise SpyDataError(
            [Problem(str(path), f"malformed JSON at line {err.lineno} column {err.colno}: {err.msg}")]
        ) from None


def load_label2text(path: str | Path) -> dict[str, str]:
    """Read `label2text.json`: attribute id -> text used inside instructions."""
    data = read_json(path)
    problems = _check_mapping(data, str(path), None, None)
    if problems:
        raise SpyDataError(problems)
    return dict(data)


def load_release(
    path: str | Path,
    label2text: Mapping[str, str] | None = None,
    kind: Kind = "benchmark",
) -> list[Item]:
    """Read and validate `questions.json` (kind="benchmark") or SPY-Tune data (kind="tune")."""
    data = read_json(path)
    return parse_release(data, str(path), label2text or {}, kind)


class InvalidRelease(SpyDataError):
    """Every problem of a release file, with the image of each item that names one (`images`: item name ->
    image_path), so that the images are checked in the same round."""

    def __init__(self, problems: list[Problem], images: dict[str, str]):
        super().__init__(problems)
        self.images = images


def parse_release(data: Any, file: str, label2text: Mapping[str, str], kind: Kind = "benchmark") -> list[Item]:
    """Validate already-parsed release data; raises InvalidRelease listing every problem."""
    key = LIST_KEYS[kind]
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise SpyDataError([Problem(file, f'expected an object with a list under "{key}"', field=key)])
    problems: list[Problem] = []
    items: list[Item] = []
    seen: set[str] = set()
    images: dict[str, str] = {}
    for position, raw in enumerate(data[key]):
        checker = _ItemChecker(raw, position, file, label2text, kind)
        item = checker.build()
        problems.extend(checker.problems)
        if checker.image_path:
            images[checker.name] = checker.image_path
        if item is None:
            continue
        if item.benchmark_id in seen:
            problems.append(Problem(file, "duplicate benchmark_id", item.benchmark_id, "benchmark_id"))
        seen.add(item.benchmark_id)
        items.append(item)
    if problems:
        raise InvalidRelease(problems, images)
    return items


def template_fields(template: str) -> int | None:
    """Number of `{}` fields in a template, or None when it has named fields or bad braces."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return None
    names = [name for _, name, _, _ in parsed if name is not None]
    if any(name != "" for name in names):
        return None
    return len(names)


def _check_mapping(data: Any, file: str, item: str | None, fld: str | None) -> list[Problem]:
    if not isinstance(data, dict):
        return [Problem(file, "expected an object mapping attribute ids to texts", item, fld)]
    return [
        Problem(
            file, f"text of '{k}' must be a non-empty string without a blank line", item, f"{fld}.{k}" if fld else k
        )
        for k, v in data.items()
        if not isinstance(v, str) or not v.strip() or PROMPT_SEPARATOR in v
    ]


class _ItemChecker:
    """Validates one raw item, recording problems instead of stopping at the first."""

    def __init__(self, raw: Any, position: int, file: str, label2text: Mapping[str, str], kind: Kind):
        self.raw, self.file, self.kind = raw, file, kind
        self.global_text = label2text
        self.problems: list[Problem] = []
        self.image_path = ""
        bid = raw.get("benchmark_id") if isinstance(raw, dict) else None
        self.name = bid if isinstance(bid, str) and bid else f"#{position}"

    def fail(self, fld: str | None, message: str) -> None:
        self.problems.append(Problem(self.file, message, self.name, fld))

    def build(self) -> Item | None:
        if not isinstance(self.raw, dict):
            self.fail(None, "expected an object")
            return None
        raw = self.raw
        bid = self.string(raw, "benchmark_id")
        label = self.string(raw, "label")
        qi = raw.get("question_item")
        if not isinstance(qi, dict):
            self.fail("question_item", "missing or not an object")
            qi = {}
        answers = ("gt",) if self.kind == "benchmark" else ("respond_ans", "reject_ans")
        texts = {
            f: self.string(qi, f, f"question_item.{f}") for f in ("question_id", "image_path", "question", *answers)
        }
        self.image_path = texts["image_path"]
        text = self.label_texts()
        templates = self.templates()
        other = self.other_labels()
        scenarios = {f: self.scenarios(f) for f in ("non_privacy_scenarios", "privacy_scenarios")}
        chosen = self.scenarios("chosen_scenarios", required=False) if self.kind == "tune" else ()
        self.check_known(label, other, text)
        self.check_pairable(scenarios)
        if self.problems:
            return None
        return Item(
            benchmark_id=bid,
            label=label,
            question_id=texts["question_id"],
            image_path=texts["image_path"],
            question=texts["question"],
            other_labels=other,
            non_privacy_scenarios=scenarios["non_privacy_scenarios"],
            privacy_scenarios=scenarios["privacy_scenarios"],
            label2text=text,
            templates=templates,
            gt=texts.get("gt", ""),
            respond_ans=texts.get("respond_ans", ""),
            reject_ans=texts.get("reject_ans", ""),
            chosen_scenarios=chosen,
        )

    def string(self, obj: dict, key: str, fld: str | None = None) -> str:
        value = obj.get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail(fld or key, "missing" if value is None else "must be a non-empty string")
            return ""
        return value

    def label_texts(self) -> Mapping[str, str]:
        """Global mapping with the item's own `label2text` laid over it."""
        own = self.raw.get("label2text")
        if own is None:
            return self.global_text
        found = _check_mapping(own, self.file, self.name, "label2text")
        self.problems.extend(found)
        return {**self.global_text, **own} if not found else self.global_text

    def templates(self) -> tuple[str, str]:
        own = self.raw.get("instruct_templates")
        if own is None:
            return DEFAULT_TEMPLATES
        if not (isinstance(own, list) and len(own) == 2 and all(isinstance(t, str) for t in own)):
            self.fail("instruct_templates", "must be a list of two strings [non_private, private]")
            return DEFAULT_TEMPLATES
        for i, template in enumerate(own):
            if template_fields(template) != 1:
                self.fail(f"instruct_templates[{i}]", "template must contain exactly one '{}'")
            elif PROMPT_SEPARATOR in template:
                self.fail(f"instruct_templates[{i}]", "template must not contain a blank line")
        return own[0], own[1]

    def other_labels(self) -> dict[str, float]:
        other = self.raw.get("other_labels")
        if not isinstance(other, dict):
            self.fail("other_labels", "missing or not an object")
            return {}
        allowed = (0, 1) if self.kind == "benchmark" else (0, 0.5, 1)
        for key, value in other.items():
            if isinstance(value, bool) or value not in allowed:
                self.fail(f"other_labels.{key}", f"value {value!r} not in {list(allowed)}")
        return dict(other)

    def scenarios(self, fld: str, required: bool = True) -> tuple[Scenario, ...]:
        raw = self.raw.get(fld)
        if raw is None and not required:
            return ()
        if not isinstance(raw, list):
            self.fail(fld, "missing or not a list")
            return ()
        out = []
        for i, entry in enumerate(raw):
            where = f"{fld}[{i}]"
            if not isinstance(entry, dict):
                self.fail(where, "expected a scenario object")
                continue
            sid = self.string(entry, "scenario", f"{where}.scenario")
            second = self.string(entry, "2nd_person_template", f"{where}.2nd_person_template")
            if second and template_fields(second) != 1:
                self.fail(f"{where}.2nd_person_template", "template must contain exactly one '{}'")
            out.append(Scenario(sid, second))
        return tuple(out)

    def check_known(self, label: str, other: dict[str, float], text: Mapping[str, str]) -> None:
        if label and label not in text:
            self.fail("label", f"unknown attribute '{label}' (not in label2text)")
        for key in other:
            if key not in text:
                self.fail(f"other_labels.{key}", f"unknown attribute '{key}' (not in label2text)")

    def check_pairable(self, scenarios: dict[str, tuple[Scenario, ...]]) -> None:
        """Metrics pair samples by (benchmark_id, scenario id): ids must be unique per item.

        Each repeat is reported where it stands, naming the first occurrence.
        """
        first: dict[str, str] = {}
        for fld, group in scenarios.items():
            for i, scenario in enumerate(group):
                where = f"{fld}[{i}].scenario"
                if not scenario.id:  # already reported as missing
                    continue
                if scenario.id in first:
                    self.fail(
                        where,
                        f"scenario '{scenario.id}' appears more than once in the item (first at {first[scenario.id]})",
                    )
                first.setdefault(scenario.id, where)


def load_scenarios(path: str | Path) -> dict[str, dict]:
    """Read `scenarios.json`: scenario id -> {name, type, labels, templates, ...}."""
    data = read_json(path)
    problems = [] if isinstance(data, dict) else [Problem(str(path), "expected an object of scenarios")]
    for sid, entry in data.items() if isinstance(data, dict) else ():
        if not isinstance(entry, dict) or not isinstance(entry.get("labels"), list):
            problems.append(Problem(str(path), "missing or not a list", sid, "labels"))
    if problems:
        raise SpyDataError(problems)
    return data


def check_scenarios(items: list[Item], scenarios: Mapping[str, dict], file: str) -> list[Problem]:
    """Items must use known scenarios, as legitimate-need contexts only for the scenario's labels."""
    problems = []
    for item in items:
        for fld, group, legitimate in (
            ("non_privacy_scenarios", item.non_privacy_scenarios, True),
            ("privacy_scenarios", item.privacy_scenarios, False),
        ):
            for i, scenario in enumerate(group):
                where = f"{fld}[{i}].scenario"
                if scenario.id not in scenarios:
                    problems.append(
                        Problem(file, f"scenario '{scenario.id}' is not in scenarios.json", item.benchmark_id, where)
                    )
                elif (item.label in scenarios[scenario.id]["labels"]) != legitimate:
                    says = "does not list" if legitimate else "lists"
                    problems.append(
                        Problem(
                            file,
                            f"scenarios.json {says} '{item.label}' for scenario '{scenario.id}'",
                            item.benchmark_id,
                            where,
                        )
                    )
    return problems
