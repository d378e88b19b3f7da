"""What each training option may hold beyond its type: ranges, signs and the loggers installed here.

TRL and transformers check most of these only as training meets them (a batch size of 0 when the first
batch is drawn, an unknown `report_to` when the trainer is built, after the model has loaded) and some
never (a negative `beta` or `gradient_accumulation_steps`). `spy-align` checks every value given
against this table before anything loads, so that all problems come in one round.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

NO_REPORTING = ("none", "all")
"""`report_to` values that name no integration (`all`: every installed one)."""


@dataclass(frozen=True)
class Bound:
    """A numeric range: `low` (inclusive unless `open_low`), `high` (inclusive unless `open_high`); `also` is one
    more value outside it that means something (e.g. -1: no limit)."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    also: float | None = None

    def holds(self, value: float) -> bool:
        if self.also is not None and value == self.also:
            return True
        above = self.low is None or (value > self.low if self.open_low else value >= self.low)
        below = self.high is None or (value < self.high if self.open_high else value <= self.high)
        return above and below

    def text(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'above' if self.open_low else 'at least'} {self.low:g}")
        if self.high is not None:
            parts.append(f"{'below' if self.open_high else 'at most'} {self.high:g}")
        extra = f", or {self.also:g}" if self.also is not None else ""
        return f"must be {' and '.join(parts)}{extra}"


COUNT = Bound(low=1)
POSITIVE = Bound(low=0, open_low=True)
NON_NEGATIVE = Bound(low=0)
FRACTION = Bound(low=0, high=1, open_high=True)

BOUNDS: dict[str, Bound] = {
    "per_device_train_batch_size": COUNT,
    "per_device_eval_batch_size": COUNT,
    "gradient_accumulation_steps": COUNT,
    "eval_accumulation_steps": COUNT,
    "num_train_epochs": POSITIVE,
    "max_steps": Bound(low=1, also=-1),
    "learning_rate": POSITIVE,
    "weight_decay": NON_NEGATIVE,
    "adam_epsilon": POSITIVE,
    "max_grad_norm": NON_NEGATIVE,
    "warmup_ratio": Bound(low=0, high=1),
    "warmup_steps": NON_NEGATIVE,
    "logging_steps": POSITIVE,
    "save_steps": POSITIVE,
    "eval_steps": POSITIVE,
    "save_total_limit": COUNT,
    "dataloader_num_workers": NON_NEGATIVE,
    "seed": NON_NEGATIVE,
    "beta": POSITIVE,
    "label_smoothing": Bound(low=0, high=0.5, open_high=True),
    "max_length": COUNT,
    "max_prompt_length": COUNT,
    "max_completion_length": COUNT,
    "min_pixels": COUNT,
    "max_pixels": COUNT,
    "generation_steps": NON_NEGATIVE,
    "generation_prompts_per_polarity": COUNT,
    "generation_max_new_tokens": COUNT,
    "lora_r": COUNT,
    "lora_alpha": POSITIVE,
    "lora_dropout": FRACTION,
    "loss_weights": NON_NEGATIVE,
}
"""Option -> the range its values must lie in (None, where an option takes it, is always allowed)."""


def value_problem(key: str, values: list, reporting: Callable[[], tuple[list[str], list[str]]]) -> str | None:
    """Why `values` (typed) do not suit option `key`, or None. `reporting()` gives (known, installed) loggers."""
    if key == "report_to":
        return _reporting_problem([str(v) for v in values], *reporting())
    if key in PATH_RULES:
        return next((why for v in values if isinstance(v, str) and (why := PATH_RULES[key](Path(v)))), None)
    bound = BOUNDS.get(key)
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    wrong = [v for v in numbers if bound is not None and not bound.holds(v)]
    return f"{bound.text()}, got {wrong[0]!r}" if len(values) > 1 and wrong else bound.text() if wrong else None


def _deepspeed_file(path: Path) -> str | None:
    """A DeepSpeed configuration given as a file must exist (an inline JSON object is TRL's to read)."""
    return None if str(path).lstrip().startswith("{") or path.is_file() else f"no such file: {path}"


def _output_folder(path: Path) -> str | None:
    return f"{path} is a file, not a folder" if path.is_file() else None


PATH_RULES: dict[str, Callable[[Path], str | None]] = {"deepspeed": _deepspeed_file, "output_dir": _output_folder}
"""Options that name paths: why a path does not suit the option, or None."""


def _reporting_problem(values: list[str], known: list[str], installed: list[str]) -> str | None:
    for value in values:
        if value in NO_REPORTING or value in installed:
            continue
        if value in known:
            return f"{value!r} is not installed here (pip install {value}); installed: {_listed(installed)}"
        close = difflib.get_close_matches(value, known, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        return f"unknown logger {value!r}{hint} (installed: {_listed(installed)}; none: no logging)"
    return None


def _listed(names: list[str]) -> str:
    return ", ".join(names) if names else "none"


def reporting_integrations() -> tuple[list[str], list[str]]:
    """(every logger transformers knows, those installed here)."""
    from transformers.integrations.integration_utils import (
        INTEGRATION_TO_CALLBACK,
        get_available_reporting_integrations,
    )

    return sorted(INTEGRATION_TO_CALLBACK), sorted(get_available_reporting_integrations())
