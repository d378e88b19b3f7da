"""Where the time of a full-scale SPY-Bench run goes: our share (TSV load, prompts, judging, metrics,
outputs) against VLMEvalKit's (inference loop, checkpoint and prediction files, summary).

Runs VLMEvalKit's run.py (`python -m vlmeval.run`, or a checkout's `run.py`) on the synthetic
full-scale release of `bench_build.py` (32,700 samples per dataset) with the baseline models and
the rule judge, in a child process whose SPY-Bench dataset methods are timed. Defaults: both
baselines on both datasets (4 x 32,700 samples; about 20 minutes on 2 cores).

    python scripts/bench_harness.py [--models SPY-AlwaysRespond ...] [--datasets SPY-Bench ...]

Last line: one JSON object, `{"total_s", "ours_s", "ours_share", "ours_by_part_s", ...}`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from vlmeval_spy.harness.run_command import locate_run_py, run_args

HERE = Path(__file__).resolve().parent
OURS = {"load": "load_data", "prompts": "build_prompt", "evaluate": "evaluate"}
"""Part -> SPYBenchDataset method; `evaluate` covers reading the answers, judging, metrics and outputs."""


def child(timings_file: Path, argv: list[str]) -> None:
    """Time our dataset methods, then run VLMEvalKit's run module in this process."""
    import atexit
    import functools

    import vlmeval.dataset  # noqa: F401  (registers SPY-Bench through the .pth hook)

    from vlmeval_spy.harness.dataset import SPYBenchDataset

    spent = dict.fromkeys(OURS, 0.0)

    def timed(part: str, method):
        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent[part] += time.perf_counter() - start

        return wrapper

    for part, name in OURS.items():
        setattr(SPYBenchDataset, name, timed(part, getattr(SPYBenchDataset, name)))
    atexit.register(lambda: timings_file.write_text(json.dumps(spent)))
    locate_run_py().run_here(argv)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/spy_bench_build"))
    parser.add_argument("--models", nargs="+", default=["SPY-AlwaysRespond", "SPY-AlwaysReject"])
    parser.add_argument("--datasets", nargs="+", default=["SPY-Bench", "SPY-Bench-ND"])
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.child:
        child(args.child, rest)
        return
    sys.path.insert(0, str(HERE))
    from bench_build import build_args, make_release

    root, lmu = args.workdir / "release", args.workdir / "harness_lmu"
    root.mkdir(parents=True, exist_ok=True)
    make_release(root)
    from vlmeval_spy.cli import main as spy_bench

    if not (lmu / "SPY-Bench.tsv").exists():
        assert spy_bench(build_args(root, lmu)) == 0
    work = args.workdir / f"harness_out_{int(time.time())}"
    timings = args.workdir / "harness_timings.json"
    env = {**os.environ, "LMUData": str(lmu)}
    env.pop("OPENAI_API_KEY", None)
    # this script in place of run.py: it times our parts, then runs run.py (`locate_run_py`)
    cmd = [
        sys.executable,
        __file__,
        "--child",
        str(timings),
        *run_args(args.datasets, args.models, work, "--judge", "exact_matching"),
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    total = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"vlmeval.run failed:\n{proc.stderr[-3000:]}")
    ours = json.loads(timings.read_text())
    samples = 32700 * len(args.models) * len(args.datasets)
    figures = {
        "samples": samples,
        "total_s": round(total, 1),
        "ours_s": round(sum(ours.values()), 1),
        "ours_share": round(sum(ours.values()) / total, 4),
        "ours_by_part_s": {k: round(v, 1) for k, v in ours.items()},
        "vlmeval_s": round(total - sum(ours.values()), 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
