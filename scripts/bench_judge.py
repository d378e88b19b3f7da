"""Benchmark the LLM judge against a scripted OpenAI-compatible server with a long-tailed latency.

32,700 answers with SPY-Bench's shape (6,540 items x 5 samples sharing an attribute and a
question) are judged twice: by `LLMJudge` (cache, thread pool, results stored as they arrive)
and by a faithful emulation of the original loop (batches of `--concurrency` calls awaited
together, the whole result file rewritten after each batch, no cache), both through VLMEvalKit's
wrapper over real HTTP at the same concurrency. Two answer sets: a refusal-heavy model (most
answers are a few canned refusals, so many judge inputs repeat) and a diverse one.

The server (`tests/judge_server.py`, in its own process) sleeps a log-normal latency around
`--median` per call, `--slow-factor` times longer for `--slow-fraction` of the calls: a real
API's long tail, scaled down. The ideal rate is `concurrency / mean latency` calls per second.
The original loop runs on the first `--original-records` answers only (its rate does not depend
on the answers, and its per-batch file rewrite only grows with more records, so a prefix
flatters it).

    python scripts/bench_judge.py [--concurrency 64 --median 0.25]

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ITEMS, SAMPLES_PER_ITEM, ATTRIBUTES = 6540, 5, 67
SIGMA = 0.25
"""Log-normal shape of the server's latency (`judge_server.long_tail_latency`)."""
KEY = "sk-bench-local"
REFUSALS = (
    "I'm sorry, but I can't help with identifying that.",
    "I cannot determine this from the image without more information.",
    "Sorry, I can't share private information about people in images.",
)


def answer_sets(seed: int = 0) -> dict[str, list[tuple[str, str, str]]]:
    """(attribute, question, answer) per sample, for a refusal-heavy and a diverse model."""
    rng = random.Random(seed)
    items = [(f"attribute {i % ATTRIBUTES}", f"What does picture {i} reveal about the person?") for i in range(ITEMS)]
    heavy, diverse = [], []
    for i, (attribute, question) in enumerate(items):
        for s in range(SAMPLES_PER_ITEM):
            own = f"In picture {i}, the {attribute} looks like value {s}; {rng.random():.6f}."
            refusal = rng.choices(REFUSALS, weights=(70, 15, 15))[0]
            heavy.append((attribute, question, refusal if rng.random() < 0.9 else own))
            diverse.append((attribute, question, REFUSALS[0] if rng.random() < 0.05 else own))
    return {"refusal-heavy": heavy, "diverse": diverse}


def start_server(args: argparse.Namespace) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "judge_server.py"),
            "--median",
            str(args.median),
            "--slow-fraction",
            str(args.slow_fraction),
            "--slow-factor",
            str(args.slow_factor),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    port = int(proc.stdout.readline().split()[1])
    return proc, f"http://127.0.0.1:{port}/v1/chat/completions"


def run_ours(samples: list[tuple[str, str, str]], api_base: str, concurrency: int, folder: Path) -> dict:
    from vlmeval_spy.harness.judging import JudgeTask
    from vlmeval_spy.harness.llm_judge import LLMJudge

    judge = LLMJudge.create(
        "gpt-4o",
        {
            "api_base": api_base,
            "key": KEY,
            "nproc": concurrency,
            "timeout": 60,
            "spy_cache": str(folder / "cache.sqlite"),
        },
    )
    tasks = [JudgeTask(str(i), a, q, ans) for i, (a, q, ans) in enumerate(samples)]
    start = time.perf_counter()
    verdicts = judge.judge_all(tasks, str(folder / "M_SPY-Bench.xlsx"))
    elapsed = time.perf_counter() - start
    report = judge.report()
    assert len(verdicts) == len(samples) and report["failed_calls"] == 0, report
    return {
        "seconds": elapsed,
        "judgments_per_s": len(samples) / elapsed,
        "calls_per_s": report["calls"] / elapsed,
        "calls": report["calls"],
        "saved": report["saved"],
        "distinct_prompts": report["distinct_prompts"],
    }


def run_original(samples: list[tuple[str, str, str]], api_base: str, batch: int, folder: Path) -> dict:
    """Batches awaited together; after each, every result so far is rewritten to one JSON file."""
    from vlmeval.dataset.utils.judge_util import build_judge

    from vlmeval_spy.judge.prompt import DEFAULT_TEMPLATE, parse_verdict, render

    wrapper = build_judge(model="gpt-4o", api_base=api_base, key=KEY, timeout=60)

    def judge(sample: tuple[str, str, str]) -> dict:
        code, output, _ = wrapper.generate_inner([{"type": "text", "value": render(DEFAULT_TEMPLATE, *sample)}])
        return {
            "attribute": sample[0],
            "question": sample[1],
            "response": sample[2],
            "eval_resp": parse_verdict(output) if code == 0 else None,
        }

    results, out = [], folder / "original_results.json"
    start = time.perf_counter()
    with ThreadPoolExecutor(batch) as pool:
        for first in range(0, len(samples), batch):
            results += list(pool.map(judge, samples[first : first + batch]))
            out.write_text(json.dumps(results, indent=4, ensure_ascii=False))
    elapsed = time.perf_counter() - start
    return {
        "records": len(samples),
        "seconds": elapsed,
        "judgments_per_s": len(samples) / elapsed,
        "calls_per_s": len(samples) / elapsed,
        "calls": len(samples),
        "saved": 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=64, help="judge nproc, and the original loop's batch size")
    parser.add_argument("--median", type=float, default=0.25, help="median latency, seconds")
    parser.add_argument("--slow-fraction", type=float, default=0.01)
    parser.add_argument("--slow-factor", type=float, default=20.0)
    parser.add_argument("--original-records", type=int, default=3200, help="answers the original loop judges (0: all)")
    args = parser.parse_args()

    mean_latency = args.median * math.exp(SIGMA**2 / 2) * (1 + args.slow_fraction * (args.slow_factor - 1))
    ideal = args.concurrency / mean_latency
    figures: dict = {
        "records": ITEMS * SAMPLES_PER_ITEM,
        "concurrency": args.concurrency,
        "median_latency_s": args.median,
        "mean_latency_s": round(mean_latency, 4),
        "ideal_calls_per_s": round(ideal, 1),
    }
    print(
        f"{figures['records']} answers, concurrency {args.concurrency}, latency median {args.median * 1000:.0f} ms, "
        f"mean {mean_latency * 1000:.0f} ms ({args.slow_fraction:.0%} x{args.slow_factor:g}): ideal {ideal:.0f} calls/s"
    )
    server, api_base = start_server(args)
    try:
        for name, samples in answer_sets().items():
            with tempfile.TemporaryDirectory() as tmp:
                ours = run_ours(samples, api_base, args.concurrency, Path(tmp))
                original = run_original(samples[: args.original_records or None], api_base, args.concurrency, Path(tmp))
            ours["of_ideal"] = ours["calls_per_s"] / ideal
            ours["speedup_vs_original"] = ours["judgments_per_s"] / original["judgments_per_s"]
            ours["calls_equal_distinct_prompts"] = ours["calls"] == ours["distinct_prompts"]
            figures[name] = {"ours": _rounded(ours), "original": _rounded(original)}
            print(
                f"{name}: ours {ours['judgments_per_s']:.0f} judgments/s ({ours['calls_per_s']:.0f} calls/s, "
                f"{ours['of_ideal']:.0%} of ideal), {ours['calls']} calls = {ours['distinct_prompts']} distinct "
                f"prompts, {ours['saved']} saved; original {original['judgments_per_s']:.0f} judgments/s on "
                f"{original['records']} answers, {original['calls']} calls; speed-up x{ours['speedup_vs_original']:.1f}"
            )
    finally:
        server.kill()
        server.wait()
    print(json.dumps(figures))


def _rounded(figures: dict) -> dict:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}


if __name__ == "__main__":
    main()
