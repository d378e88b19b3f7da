"""Bootstrap intervals: item resampling, agreement with `metrics.compute`, reproducibility."""

from __future__ import annotations

import random

import numpy as np
import pytest

from vlmeval_spy.results.bootstrap import bootstrap_intervals, item_counts, resample_scores
from vlmeval_spy.results.metrics import ACCURACY, HEADLINE_KEYS, HMS, ICS, NA, JudgedSample, compute, headline

LABELS = ("a1_age_approx", "a25_nationality", "a29_ausweis")


def item(bid: str, label: str, verdicts: list[str | None]) -> list[JudgedSample]:
    """Five samples: the plain pair, a non-privacy (conflict) scenario sample, a privacy-scenario pair."""
    v = iter(verdicts)
    return [
        JudgedSample(bid, label, 1, None, None, next(v)),
        JudgedSample(bid, label, 0, None, None, next(v)),
        JudgedSample(bid, label, 1, "s_conflict", 0, next(v)),
        JudgedSample(bid, label, 1, "s_private", 1, next(v)),
        JudgedSample(bid, label, 0, "s_private", 1, next(v)),
    ]


def random_benchmark(n_items: int, seed: int) -> list[JudgedSample]:
    rng = random.Random(seed)
    samples = []
    for i in range(n_items):
        samples += item(f"b{i}", LABELS[i % 3], [rng.choice(["respond", "reject", "reject", None]) for _ in range(5)])
    return samples


def test_a_resample_is_compute_on_the_drawn_items():
    """A weight vector must give what compute() gives on the drawn items, duplicates kept apart."""
    samples = random_benchmark(12, seed=1)
    expected, total = item_counts(samples)
    weights = np.array([[2, 0, 1, 0, 3, 1, 0, 0, 1, 2, 1, 1]], dtype=float)
    by_item = [samples[i * 5 : (i + 1) * 5] for i in range(12)]
    drawn = [
        JudgedSample(f"{s.benchmark_id}#{copy}", s.label, s.is_privacy, s.scenario, s.scenario_privacy, s.verdict)
        for i, group in enumerate(by_item)
        for copy in range(int(weights[0, i]))
        for s in group
    ]
    want = headline(compute(drawn))
    got = resample_scores(expected, total, weights)[0]
    for key, value in zip(HEADLINE_KEYS, got, strict=True):
        assert (np.isnan(value) and want[key] == NA) or value == pytest.approx(want[key]), key


def test_identity_weights_reproduce_the_point_estimate():
    samples = random_benchmark(30, seed=2)
    expected, total = item_counts(samples)
    got = resample_scores(expected, total, np.ones((1, len(expected))))[0]
    want = headline(compute(samples))
    assert got.tolist() == pytest.approx([want[k] for k in HEADLINE_KEYS])


def test_seeded_and_reproducible():
    samples = random_benchmark(40, seed=3)
    first, again = (
        bootstrap_intervals(samples, resamples=200, seed=7),
        bootstrap_intervals(samples, resamples=200, seed=7),
    )
    other = bootstrap_intervals(samples, resamples=200, seed=8)
    assert first == again
    assert first.bounds != other.bounds
    assert (first.resamples, first.seed, first.level) == (200, 7, 0.95)


def test_intervals_bracket_the_estimate_and_shrink_with_more_items():
    small, large = random_benchmark(20, seed=4), random_benchmark(400, seed=4)
    widths = []
    for samples in (small, large):
        bounds = bootstrap_intervals(samples, resamples=300).bounds
        point = headline(compute(samples))
        for key in (ACCURACY, ICS, HMS):
            low, high = bounds[key]
            assert low <= point[key] <= high, key
        widths.append(bounds[ACCURACY][1] - bounds[ACCURACY][0])
    assert widths[1] < widths[0] / 2


def test_pairs_stay_together():
    """Every item is a consistent (respond, reject) pair: any resample keeps ICS at exactly 100."""
    samples = []
    for i in range(25):
        samples += [
            JudgedSample(f"b{i}", "a1_age_approx", 0, None, None, "respond"),
            JudgedSample(f"b{i}", "a1_age_approx", 1, None, None, "reject"),
        ]
    assert bootstrap_intervals(samples, resamples=200).bounds[ICS] == (100.0, 100.0)


def test_metrics_without_samples_are_na():
    samples = [
        JudgedSample("b1", "a1_age_approx", 1, None, None, "reject"),
        JudgedSample("b2", "a1_age_approx", 0, None, None, "respond"),
    ]
    bounds = bootstrap_intervals(samples, resamples=50).bounds
    assert bounds["absolute privacy accuracy"] == (NA, NA)
    assert bounds[HMS] == (NA, NA)
    assert bootstrap_intervals([], resamples=50).bounds[ACCURACY] == (NA, NA)
