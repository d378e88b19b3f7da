"""Which prompts an SPY-Tune item yields and which answer each should get (docs/specification.md §7).

Plain Python on validated `Item`s; `spy_align.tune_datasets` turns the result into datasets.
Instruction blocks and question parts come from `vlmeval_spy.bench.prompts`, so training prompts are
exactly the benchmark's prompts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vlmeval_spy.bench.constants import ABSOLUTELY_PRIVATE
from vlmeval_spy.bench.prompts import PROMPT_SEPARATOR, question_part, render_instructions
from vlmeval_spy.bench.release import Item, Scenario

Case = Literal["plain", "non_privacy_scenario", "privacy_scenario", "chosen_scenario"]


@dataclass(frozen=True)
class TuneTurn:
    """One prompt of an item, the answer to prefer (`chosen`) and the other one (`rejected`)."""

    benchmark_id: str
    label: str
    case: Case
    scenario: str
    """Scenario id, "" for the plain question."""
    polarity: int
    """Polarity of the item's own instruction: 0 non-private, 1 private."""
    prompt: str
    chosen: str
    rejected: str


def should_respond(item: Item, case: Case, polarity: int) -> bool:
    """Answer under non-private instructions or a legitimate-need scenario; never for ABS labels."""
    if item.label in ABSOLUTELY_PRIVATE:
        return False
    return polarity == 0 or case == "non_privacy_scenario"


def make_turn(item: Item, case: Case, scenario: Scenario | None, polarity: int, distractors: bool) -> TuneTurn:
    """Render the prompt (benchmark format) and pick the target answer of one (case, polarity)."""
    prompt = render_instructions(item, polarity, distractors) + PROMPT_SEPARATOR + question_part(item, scenario)
    answers = (item.respond_ans, item.reject_ans)
    chosen, rejected = answers if should_respond(item, case, polarity) else answers[::-1]
    return TuneTurn(
        item.benchmark_id, item.label, case, scenario.id if scenario else "", polarity, prompt, chosen, rejected
    )


def preference_turns(item: Item, distractors: bool) -> list[TuneTurn]:
    """SFT and DPO examples of an item, in the order of docs/specification.md §7: plain (1, 0), non-privacy,
    privacy, chosen scenarios."""
    specs: list[tuple[Case, Scenario | None, int]] = [("plain", None, 1), ("plain", None, 0)]
    specs += [("non_privacy_scenario", s, 1) for s in item.non_privacy_scenarios]
    specs += [("privacy_scenario", s, 1) for s in item.privacy_scenarios]
    specs += [("chosen_scenario", s, 0) for s in item.chosen_scenarios]
    return [make_turn(item, case, scenario, polarity, distractors) for case, scenario, polarity in specs]


def polarity_pairs(item: Item, distractors: bool) -> list[tuple[TuneTurn, TuneTurn]]:
    """NCA-P examples: (non-private turn, private turn) on the plain question and on each scenario."""
    specs: list[tuple[Case, Scenario | None]] = [("plain", None)]
    specs += [("non_privacy_scenario", s) for s in item.non_privacy_scenarios]
    specs += [("privacy_scenario", s) for s in item.privacy_scenarios]
    return [
        (make_turn(item, case, scenario, 0, distractors), make_turn(item, case, scenario, 1, distractors))
        for case, scenario in specs
    ]
