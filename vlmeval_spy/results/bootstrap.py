"""Seeded bootstrap confidence intervals for the SPY-Bench headline metrics.

The resampling unit is the benchmark item: all samples of an item (both polarities, every
scenario) are drawn together, so instruction pairs stay intact. Every metric is a ratio of
counts that add up over items (pairs never cross items), so `metrics.compute` runs once per item
and a resample is a vector of item multiplicities: its counts are one matrix product. That keeps
1000 resamples of the full 32,700-sample benchmark to a few seconds.

Intervals are percentile intervals. A resample in which a metric has no samples in scope
contributes nothing to that metric's interval; a metric with no samples at all gets "N/A".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .metrics import ATA_CONFLICT, HEADLINE_KEYS, HMS, NA, RTA_NON_CONFLICT, JudgedSample, compute

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
DEFAULT_LEVEL = 0.95
RATIO_KEYS = tuple(key for key in HEADLINE_KEYS if key != HMS)
_CHUNK = 100
"""Resamples drawn per matrix product: bounds memory on large benchmarks."""

Interval = tuple[float, float] | tuple[str, str]


@dataclass(frozen=True)
class Intervals:
    """Bootstrap intervals of the headline metrics and how they were drawn."""

    bounds: dict[str, Interval]
    """Headline key -> (low, high) in percent, ("N/A", "N/A") when undefined."""
    resamples: int
    seed: int
    level: float

    def describe(self) -> str:
        return (
            f"{self.level:.0%} percentile bootstrap intervals over benchmark items (all samples of an "
            f"item drawn together), {self.resamples} resamples, seed {self.seed}"
        )


def item_counts(samples: Sequence[JudgedSample]) -> tuple[np.ndarray, np.ndarray]:
    """Per-item (expected, all) counts of every ratio metric: two arrays of shape (items, keys)."""
    items: dict[str, list[JudgedSample]] = defaultdict(list)
    for s in samples:
        items[s.benchmark_id].append(s)
    per_item = [compute(group) for group in items.values()]
    expected = np.array([[m[key]["expected"] for key in RATIO_KEYS] for m in per_item], dtype=float)
    total = np.array([[m[key]["all"] for key in RATIO_KEYS] for m in per_item], dtype=float)
    return expected.reshape(-1, len(RATIO_KEYS)), total.reshape(-1, len(RATIO_KEYS))


def resample_scores(expected: np.ndarray, total: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Scores (percent, NaN for an empty scope) of each resample, one row per row of `weights`.

    `weights[b, i]` is how often item i is drawn in resample b. Columns follow HEADLINE_KEYS.
    """
    hits, scope = weights @ expected, weights @ total
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = np.where(scope > 0, 100 * hits / scope, np.nan)
        ata, rta = ratios[:, RATIO_KEYS.index(ATA_CONFLICT)], ratios[:, RATIO_KEYS.index(RTA_NON_CONFLICT)]
        hms = np.where(ata + rta == 0, 0.0, 2 * ata * rta / (ata + rta))
    columns = {key: ratios[:, i] for i, key in enumerate(RATIO_KEYS)} | {HMS: hms}
    return np.column_stack([columns[key] for key in HEADLINE_KEYS])


def bootstrap_intervals(
    samples: Sequence[JudgedSample],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = DEFAULT_LEVEL,
) -> Intervals:
    """Percentile bootstrap intervals of every headline metric, resampling benchmark items."""
    expected, total = item_counts(samples)
    n_items = len(expected)
    if n_items == 0:
        return Intervals({key: (NA, NA) for key in HEADLINE_KEYS}, resamples, seed, level)
    rng = np.random.default_rng(seed)
    chunks = []
    for start in range(0, resamples, _CHUNK):
        size = min(_CHUNK, resamples - start)
        weights = rng.multinomial(n_items, np.full(n_items, 1 / n_items), size=size).astype(float)
        chunks.append(resample_scores(expected, total, weights))
    return Intervals(_percentiles(np.vstack(chunks), level), resamples, seed, level)


def _percentiles(scores: np.ndarray, level: float) -> dict[str, Interval]:
    tail = (1 - level) / 2 * 100
    out: dict[str, Interval] = {}
    for i, key in enumerate(HEADLINE_KEYS):
        column = scores[:, i][~np.isnan(scores[:, i])]
        if column.size == 0:
            out[key] = (NA, NA)
        else:
            low, high = np.percentile(column, [tail, 100 - tail])
            out[key] = (float(low), float(high))
    return out
