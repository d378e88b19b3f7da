"""Choosing and running the judge that turns each prediction into a verdict.

`--judge exact_matching` selects the offline rule judge. Without `--judge`, an LLM judge
(`gpt-4o`, the paper's) is used when an OpenAI key is configured; otherwise, or when the LLM
judge cannot be built or reached (`llm_judge`), the rule judge takes over with a warning that
says how to set one up. Every verdict records which judge produced it.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

from ..constants import VERDICTS
from ..rule_judge import classify

RULE_JUDGE = "exact_matching"
DEFAULT_LLM_JUDGE = "gpt-4o"
EXCEPTION = "exception"
INFER_FAIL_MARKER = "Failed to obtain answer"
"""VLMEvalKit's prediction text for a failed inference: counted as an exception, never judged."""
HOW_TO_CONFIGURE = (
    "Set OPENAI_API_KEY (and OPENAI_API_BASE for another OpenAI-compatible server, e.g. `vllm serve`) "
    "in the environment or VLMEvalKit's .env, or pass --judge MODEL --judge-base-url URL --judge-key KEY."
)


@dataclass(frozen=True)
class Verdict:
    verdict: str
    """respond, reject or exception."""
    judge: str
    """Which judge produced it (e.g. exact_matching, exact_matching_fallback, gpt-4o)."""
    raw: str = ""
    """The judge's own output, when it has one."""


@dataclass(frozen=True)
class JudgeTask:
    """What a judge sees of one prediction (SPEC section 4)."""

    key: str
    attribute: str
    question: str
    answer: str


class Judge(Protocol):
    name: str

    def judge_all(self, tasks: list[JudgeTask], work_file: str) -> dict[str, Verdict]:
        """Verdicts keyed by task key; `work_file` is where resumable progress may be kept."""

    def report(self) -> dict:
        """Which judge ran and what the last `judge_all` cost (`calls`, `saved`, ...)."""


class RuleJudge:
    """The offline rule judge (`vlmeval_spy.rule_judge`)."""

    def __init__(self, name: str = RULE_JUDGE):
        self.name = name

    def judge_all(self, tasks: list[JudgeTask], work_file: str) -> dict[str, Verdict]:
        return {t.key: Verdict(classify(t.answer), self.name) for t in tasks}

    def report(self) -> dict:
        return {"judge": self.name, "fallback": self.name != RULE_JUDGE, "calls": 0, "saved": 0}


def select_judge(judge_kwargs: dict) -> Judge:
    """The judge `run.py`'s judge arguments ask for, falling back to the rule judge."""
    kwargs = dict(judge_kwargs)
    model = kwargs.pop("model", None)
    if model == RULE_JUDGE:
        return RuleJudge()
    if model is None:
        if not (os.environ.get("OPENAI_API_KEY") or kwargs.get("key")):
            warnings.warn(f"SPY-Bench: no LLM judge configured, using the offline rule judge. {HOW_TO_CONFIGURE}")
            return RuleJudge(f"{RULE_JUDGE}_fallback")
        model = DEFAULT_LLM_JUDGE
    from .llm_judge import LLMJudge

    judge = LLMJudge.create(model, kwargs)
    if judge is None:
        warnings.warn(f"SPY-Bench: LLM judge '{model}' could not be set up, using the offline rule judge. {HOW_TO_CONFIGURE}")
        return RuleJudge(f"{RULE_JUDGE}_fallback")
    return judge


def judge_report(judge: Judge, verdicts: dict[str, Verdict]) -> dict:
    """The judge's own report plus how many verdicts each judge produced."""
    return {**judge.report(), "verdicts by judge": dict(Counter(v.judge for v in verdicts.values()))}


def judge_predictions(judge: Judge, tasks: list[JudgeTask], work_file: str) -> dict[str, Verdict]:
    """Failed inferences become exceptions; everything else goes to the judge."""
    failed = {t.key: Verdict(EXCEPTION, "inference_failed") for t in tasks if INFER_FAIL_MARKER in t.answer}
    verdicts = judge.judge_all([t for t in tasks if t.key not in failed], work_file)
    return {**failed, **{k: v if v.verdict in VERDICTS else Verdict(EXCEPTION, v.judge, v.raw) for k, v in verdicts.items()}}
