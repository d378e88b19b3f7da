"""Expand items into evaluation samples in the order of docs/specification.md §3."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .release import Item, Scenario


@dataclass(frozen=True)
class Sample:
    """One prompt to answer: an item, the instruction polarity and an optional scenario."""

    item: Item
    is_privacy: int
    scenario: Scenario | None = None
    scenario_privacy: int | None = None
    """1 for a privacy scenario (non-conflict), 0 for a non-privacy one (conflict)."""


def expand_item(item: Item) -> Iterator[Sample]:
    """Plain (1, 0); each non-privacy scenario (1); each privacy scenario (1, 0)."""
    yield Sample(item, 1)
    yield Sample(item, 0)
    for scenario in item.non_privacy_scenarios:
        yield Sample(item, 1, scenario, 0)
    for scenario in item.privacy_scenarios:
        yield Sample(item, 1, scenario, 1)
        yield Sample(item, 0, scenario, 1)


def expand(items: Iterable[Item]) -> list[Sample]:
    """All samples of a benchmark, item after item."""
    return [sample for item in items for sample in expand_item(item)]
