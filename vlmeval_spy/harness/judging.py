"""Choosing and running the judge that turns each prediction into a verdict (docs/judge.md).

- `--judge exact_matching` selects the offline rule judge.
- An LLM judge is *asked for* when `--judge MODEL` is given, or when a key or an endpoint is
  configured (`--judge-key`, `--judge-base-url`, `OPENAI_API_KEY`, `OPENAI_API_BASE`, VLMEvalKit's
  `.env`); without `--judge` it is `gpt-4o`, the paper's. An LLM judge that was asked for and
  cannot be used raises `JudgeUnavailable`: the evaluation stops, nothing is scored. It never
  becomes the rule judge.
- Only when no LLM judge is asked for does the rule judge stand in, with a warning, under the
  name `exact_matching_fallback`.

Every verdict records which judge produced it, and `judge_report` counts the judge's
exceptions against the failure threshold (`spy_fail_threshold`, 1% by default).
"""

from __future__ import annotations

import os
import warnings
from collections import Counter

from ..bench.constants import VERDICTS
from ..judge.base import (
    EXCEPTION,
    HOW_TO_CONFIGURE,
    INFER_FAIL_MARKER,
    INFER_FAILED,
    RULE_FALLBACK,
    RULE_JUDGE,
    Judge,
    JudgeTask,
    JudgeUnavailable,
    RuleJudge,
    Verdict,
)
from .run_exit import install as install_run_exit

__all__ = [
    "DEFAULT_FAIL_THRESHOLD",
    "DEFAULT_LLM_JUDGE",
    "EXCEPTION",
    "INFER_FAIL_MARKER",
    "JudgeTask",
    "JudgeUnavailable",
    "Verdict",
    "asked_judge",
    "judge_configured",
    "judge_predictions",
    "judge_report",
    "select_judge",
]

DEFAULT_LLM_JUDGE = "gpt-4o"
DEFAULT_FAIL_THRESHOLD = 0.01
THRESHOLD_KEY = "spy_fail_threshold"
"""`--judge-args` key: the share of samples the judge may fail on before a score is marked incomplete."""
CONFIG_ENV = ("OPENAI_API_KEY", "OPENAI_API_BASE")


def judge_configured(kwargs: dict) -> bool:
    """A key or an endpoint for an LLM judge is configured (arguments, environment or VLMEvalKit's .env)."""
    return bool(kwargs.get("key") or kwargs.get("api_base") or any(os.environ.get(name) for name in CONFIG_ENV))


def fail_threshold(kwargs: dict) -> float:
    """`spy_fail_threshold` from the judge arguments (a fraction in [0, 1)), else 1%."""
    value = kwargs.get(THRESHOLD_KEY, DEFAULT_FAIL_THRESHOLD)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise JudgeUnavailable(
            f"SPY-Bench: --judge-args: {THRESHOLD_KEY} must be a fraction in [0, 1), e.g. 0.01; got {value!r}"
        )
    return float(value)


def asked_judge(judge_kwargs: dict) -> str:
    """The name of the judge `select_judge` will use for these arguments (before it is set up)."""
    model = judge_kwargs.get("model")
    if model is not None:
        return str(model)
    return DEFAULT_LLM_JUDGE if judge_configured(judge_kwargs) else RULE_FALLBACK


def select_judge(judge_kwargs: dict) -> Judge:
    """The judge `run.py`'s judge arguments ask for; JudgeUnavailable when an asked-for LLM judge cannot be set up."""
    kwargs = dict(judge_kwargs)
    model = kwargs.pop("model", None)
    threshold = fail_threshold(kwargs)
    kwargs.pop(THRESHOLD_KEY, None)
    install_run_exit()
    if model == RULE_JUDGE:
        judge: Judge = RuleJudge()
    elif model is None and not judge_configured(kwargs):
        warnings.warn(
            f"SPY-Bench: no LLM judge asked for or configured, using the offline rule judge "
            f"({RULE_FALLBACK}). {HOW_TO_CONFIGURE}",
            stacklevel=2,
        )
        judge = RuleJudge(RULE_FALLBACK)
    else:
        from .llm_judge import LLMJudge  # imports VLMEvalKit: only when an LLM judge is wanted

        judge = LLMJudge.create(model or DEFAULT_LLM_JUDGE, kwargs)
    judge.fail_threshold = threshold
    return judge


def judge_report(judge: Judge, verdicts: dict[str, Verdict]) -> dict:
    """The judge's own report, how many verdicts each judge produced, and whether more samples than the
    threshold allows lack a verdict, because the judge failed on them or their answer was lost (`complete`)."""
    threshold = getattr(judge, "fail_threshold", DEFAULT_FAIL_THRESHOLD)
    failed = sum(v.verdict == EXCEPTION and v.judge != INFER_FAILED for v in verdicts.values())
    lost = sum(v.judge == INFER_FAILED for v in verdicts.values())
    return {
        **judge.report(),
        "verdicts by judge": dict(Counter(v.judge for v in verdicts.values())),
        "samples": len(verdicts),
        "judge exceptions": failed,
        "inference failures": lost,
        "fail threshold": threshold,
        "complete": max(failed, lost) <= threshold * len(verdicts),
    }


def judge_predictions(judge: Judge, tasks: list[JudgeTask], work_file: str) -> dict[str, Verdict]:
    """Failed inferences become exceptions; everything else goes to the judge."""
    failed = {t.key: Verdict(EXCEPTION, INFER_FAILED, t.answer) for t in tasks if INFER_FAIL_MARKER in t.answer}
    verdicts = judge.judge_all([t for t in tasks if t.key not in failed], work_file)
    return {
        **failed,
        **{k: v if v.verdict in VERDICTS else Verdict(EXCEPTION, v.judge, v.raw) for k, v in verdicts.items()},
    }
