"""Which samples each metric counts, and its (expected, all) counts over any set of samples.

The same rules as `metrics.compute`, on the columns `samples.read_samples` derives: a single-sample
metric counts the samples of its kind with a valid verdict; an instruction-pair metric (ICS)
counts pairs, so its samples are twice its `all`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...bench.constants import ABSOLUTELY_PRIVATE
from ..metrics import ABS_ACCURACY, ACCURACY, ATA_CONFLICT, ATA_NON_CONFLICT, ICS, ICS_NON_CONFLICT, RTA_NON_CONFLICT
from .samples import EXCEPTION

PAIR_KEYS = (ICS, ICS_NON_CONFLICT)
SCOPE_KEYS = (ACCURACY, ABS_ACCURACY, ICS, RTA_NON_CONFLICT, ATA_NON_CONFLICT, ICS_NON_CONFLICT, ATA_CONFLICT)
"""The metrics with counts (hms is a harmonic mean of two of them)."""


def in_scope(frame: pd.DataFrame, key: str) -> pd.Series:
    """The samples metric `key` counts."""
    if key in PAIR_KEYS:
        return frame["pair"] == key
    valid = frame["verdict"] != EXCEPTION
    if key == ABS_ACCURACY:
        return valid & frame["label"].isin(ABSOLUTELY_PRIVATE)
    return valid & (frame["metric"] == key)


def counted_right(frame: pd.DataFrame, key: str) -> pd.Series:
    """Of the samples in scope, those the metric counts as expected (a consistent pair, for ICS)."""
    return frame["pair_ok"] == 1 if key in PAIR_KEYS else frame["correct"] == 1


def counts(frame: pd.DataFrame, key: str, among: np.ndarray | None = None) -> tuple[int, int]:
    """(expected, all) of metric `key` over `frame` (or its rows where `among` is true), as `metrics.compute`
    counts them."""
    scope = in_scope(frame, key).to_numpy()
    if among is not None:
        scope = scope & among
    expected, total = int((scope & counted_right(frame, key).to_numpy()).sum()), int(scope.sum())
    return (expected // 2, total // 2) if key in PAIR_KEYS else (expected, total)
