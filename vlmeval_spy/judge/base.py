"""What every judge shares: tasks, verdicts, the rule judge, and the error that stops an evaluation.

Kept apart from `judging` (which chooses a judge) and `llm_judge` (the LLM judge), so that each
of those imports this module and neither imports the other at module level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..common.exit_status import JUDGE_UNAVAILABLE
from .rule_judge import classify

RULE_JUDGE = "exact_matching"
RULE_FALLBACK = f"{RULE_JUDGE}_fallback"
"""The rule judge standing in when no LLM judge was asked for and none is configured."""
EXCEPTION = "exception"
INFER_FAILED = "inference_failed"
"""The `judge` of a sample whose inference failed: counted as an exception, never judged."""
INFER_FAIL_MARKER = "Failed to obtain answer"
"""VLMEvalKit's prediction text for a failed inference."""
HOW_TO_CONFIGURE = (
    "Set the judge with --judge MODEL --judge-base-url URL --judge-key KEY (or OPENAI_API_KEY / OPENAI_API_BASE "
    "in the environment or VLMEvalKit's .env)."
)
ASK_FOR_RULE_JUDGE = "To score with the offline rule judge instead, pass --judge exact_matching."


class JudgeUnavailable(RuntimeError):
    """An LLM judge that was asked for cannot be used: the evaluation stops, nothing is scored."""

    EXIT_STATUS = JUDGE_UNAVAILABLE


@dataclass(frozen=True)
class Verdict:
    verdict: str
    """respond, reject or exception."""
    judge: str
    """Which judge produced it (e.g. exact_matching, exact_matching_fallback, gpt-4o, inference_failed)."""
    raw: str = ""
    """The judge's own output, or why there is none."""


@dataclass(frozen=True)
class JudgeTask:
    """What a judge sees of one prediction (docs/specification.md §4)."""

    key: str
    attribute: str
    question: str
    answer: str


class Judge(Protocol):
    name: str

    def judge_all(self, tasks: list[JudgeTask], work_file: str) -> dict[str, Verdict]:
        """Verdicts keyed by task key; `work_file` is where resumable progress may be kept."""

    def report(self) -> dict:
        """Which judge ran, where, and what the last `judge_all` cost (`calls`, `saved`, ...)."""


class RuleJudge:
    """The offline rule judge (`vlmeval_spy.judge.rule_judge`)."""

    def __init__(self, name: str = RULE_JUDGE):
        self.name = name

    def judge_all(self, tasks: list[JudgeTask], work_file: str) -> dict[str, Verdict]:
        # The attribute and the question tell an answer from a change of subject (rule_judge_attributes).
        return {t.key: Verdict(classify(t.answer, t.question, t.attribute), self.name) for t in tasks}

    def report(self) -> dict:
        return {"judge": self.name, "fallback": self.name == RULE_FALLBACK, "endpoint": None, "calls": 0, "saved": 0}
