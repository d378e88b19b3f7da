"""Benchmark the offline rule judge: speed on a full benchmark's worth of answers, and agreement
with the hand-labelled case files.

Speed: 32,700 answers (SPY-Bench's size) classified in one process pinned to one core, timed in
CPU seconds (and wall seconds, which include whatever else the machine is doing), for three
answer sets:

- `hand-labelled`: the answers of the case files in `tests/data/`, cycled to 32,700, each with
  its case's question and attribute where it has them;
- `diverse` and `refusal-heavy`: the synthetic answer sets of `scripts/bench_judge.py` (every
  `diverse` answer is distinct; most `refusal-heavy` answers are one of three canned refusals),
  each answer given an attribute label of the test release and a question, as the harness does.

Each set is timed twice: `cold` analyses every answer (`decide`, no verdict cache), the worst
case; `cached` is `classify` as the harness calls it (an identical answer to the same kind of
question about the same attribute is classified once). The target is under 5 CPU seconds per set.

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

from vlmeval_spy.judge.rule_judge import classify, clear_cache, decide  # noqa: E402

ANSWERS = 32_700
TARGET_S = 5.0
CASE_FILES = (
    "rule_judge_cases.jsonl",
    "rule_judge_holdout.jsonl",
    "rule_judge_holdout2.jsonl",
    "rule_judge_holdout3.jsonl",
    "rule_judge_holdout4.jsonl",
)


def load(name: str) -> list[dict]:
    with open(ROOT / "tests" / "data" / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


Sample = tuple[str, str | None, str | None]
"""(answer, question, attribute label)"""
LABELS = sorted(json.loads((ROOT / "tests" / "fixtures" / "release" / "label2text.json").read_text()))


def timed(judge: Callable[[str, str | None, str | None], object], samples: list[Sample]) -> dict:
    clear_cache()
    wall, cpu = time.perf_counter(), time.process_time()
    for answer, question, label in samples:
        judge(answer, question, label)
    return {"cpu_s": round(time.process_time() - cpu, 3), "wall_s": round(time.perf_counter() - wall, 3)}


def agreement(name: str) -> dict:
    cases = load(name)
    agreed = sum(classify(c["answer"], c.get("question"), c.get("attribute")) == c["label"] for c in cases)
    return {"cases": len(cases), "agreed": agreed, "agreement": round(agreed / len(cases), 4)}


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    hand = [(c["answer"], c.get("question"), c.get("attribute")) for name in CASE_FILES for c in load(name)]
    sets = {"hand-labelled": list(itertools.islice(itertools.cycle(hand), ANSWERS))}
    for name, samples in answer_sets().items():
        sets[name] = [(answer, question, LABELS[i % len(LABELS)]) for i, (_, question, answer) in enumerate(samples)]
    figures: dict = {"answers": ANSWERS, "target_cpu_s": TARGET_S}
    for name, samples in sets.items():
        cold, cached = timed(decide, samples), timed(classify, samples)
        distinct = len({answer for answer, _, _ in samples})
        figures[name] = {
            "distinct": distinct,
            "cold": cold,
            "cached": cached,
            "cold_under_target": cold["cpu_s"] < TARGET_S,
        }
        print(
            f"{name}: {len(samples)} answers ({distinct} distinct): cold {cold['cpu_s']:.2f} s CPU "
            f"({cold['wall_s']:.2f} s wall), cached {cached['cpu_s']:.2f} s CPU"
        )
    for name in CASE_FILES:
        figures[name] = agreement(name)
        print(f"{name}: {figures[name]['agreed']}/{figures[name]['cases']} agree with the hand labels")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
