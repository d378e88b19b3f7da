"""Render the text a model sees: INSTRUCTIONS + blank line + QUESTION_PART (docs/specification.md §3)."""

from __future__ import annotations

from .expansion import Sample
from .release import PROMPT_SEPARATOR, Item, Scenario

__all__ = [
    "PROMPT_SEPARATOR",
    "instruction_entries",
    "question_part",
    "render_instructions",
    "render_prompt",
    "split_instructions",
]


def instruction_entries(item: Item, polarity: int, distractors: bool) -> dict[str, int]:
    """Attribute -> polarity of each instruction line.

    With distractors the item's own label takes `polarity`, keeping its position among the
    distractors when present (appended otherwise); SPY-Tune's 0.5 also means `polarity`.
    """
    if not distractors:
        return {item.label: polarity}
    entries = {key: polarity if value == 0.5 else int(value) for key, value in item.other_labels.items()}
    entries[item.label] = polarity
    return entries


def render_instructions(item: Item, polarity: int, distractors: bool) -> str:
    """The privacy instruction block, one line per attribute."""
    entries = instruction_entries(item, polarity, distractors)
    return "\n".join(item.templates[value].format(item.text(key)) for key, value in entries.items())


def question_part(item: Item, scenario: Scenario | None) -> str:
    """The question, wrapped in the scenario's 2nd-person template when there is one."""
    return scenario.wrap(item.question) if scenario else item.question


def render_prompt(sample: Sample, distractors: bool) -> str:
    """Full prompt text of a benchmark sample."""
    instructions = render_instructions(sample.item, sample.is_privacy, distractors)
    return instructions + PROMPT_SEPARATOR + question_part(sample.item, sample.scenario)


def split_instructions(prompt: str) -> str:
    """The instruction block of a rendered prompt: the text before the first blank line."""
    return prompt.split(PROMPT_SEPARATOR, 1)[0]
