"""Benchmark the offline rule judge: speed on a full benchmark's worth of answers, and agreement
with the hand-labelled case files.

Speed: 32,700 answers (SPY-Bench's size) classified in one process pinned to one core, timed in
CPU seconds (and wall seconds, which include whatever else the machine is doing), for three
answer sets:

- `hand-labelled`: the answers of the case files in `tests/data/`, cycled to 32,700;
- `diverse` and `refusal-heavy`: the synthetic answer sets of `scripts/bench_judge.py` (every
  `diverse` answer is distinct; most `refusal-heavy` answers are one of three canned refusals).

Each set is timed twice: `cold` analyses every answer (`classify.__wrapped__`, no cache), the
worst case; `cached` is `classify` as the harness calls it (an identical answer is classified
once). The target is under 5 CPU seconds per set.

    python scripts/bench_rule_judge.py

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from bench_judge import answer_sets  # noqa: E402

from vlmeval_spy.rule_judge import classify  # noqa: E402

ANSWERS = 32_700
TARGET_S = 5.0
CASE_FILES = ("rule_judge_cases.jsonl", "rule_judge_holdout.jsonl", "rule_judge_holdout2.jsonl")


def load(name: str) -> list[dict]:
    with open(ROOT / "tests" / "data" / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def timed(judge: Callable[[str], str], answers: list[str]) -> dict:
    classify.cache_clear()
    wall, cpu = time.perf_counter(), time.process_time()
    for answer in answers:
        judge(answer)
    return {"cpu_s": round(time.process_time() - cpu, 3), "wall_s": round(time.perf_counter() - wall, 3)}


def agreement(name: str) -> dict:
    cases = load(name)
    agreed = sum(classify(c["answer"]) == c["label"] for c in cases)
    return {"cases": len(cases), "agreed": agreed, "agreement": round(agreed / len(cases), 4)}


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    hand = [c["answer"] for name in CASE_FILES for c in load(name)]
    sets = {"hand-labelled": list(itertools.islice(itertools.cycle(hand), ANSWERS))}
    sets.update({name: [answer for _, _, answer in samples] for name, samples in answer_sets().items()})
    figures: dict = {"answers": ANSWERS, "target_cpu_s": TARGET_S}
    for name, answers in sets.items():
        cold, cached = timed(classify.__wrapped__, answers), timed(classify, answers)
        figures[name] = {
            "distinct": len(set(answers)),
            "cold": cold,
            "cached": cached,
            "cold_under_target": cold["cpu_s"] < TARGET_S,
        }
        print(
            f"{name}: {len(answers)} answers ({len(set(answers))} distinct): cold {cold['cpu_s']:.2f} s CPU "
            f"({cold['wall_s']:.2f} s wall), cached {cached['cpu_s']:.2f} s CPU"
        )
    for name in CASE_FILES:
        figures[name] = agreement(name)
        print(f"{name}: {figures[name]['agreed']}/{figures[name]['cases']} agree with the hand labels")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
