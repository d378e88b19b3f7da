"""What a judge that dies mid-run costs: requests sent after its death and seconds until the run stops.

The scripted judge server (`tests/judge_server.py`) answers `--alive` judgments, then drops every
connection (a crashed backend). `LLMJudge` judges `--answers` distinct answers through VLMEvalKit's
wrapper over real HTTP, with its real retry policy (6 tries, 1 s backoff doubling, jitter) and
circuit breaker, at each `--nproc`. Before the breaker, the same case sent 415 requests in 115 s
at 16 threads and ended with a score computed from one sample.

    python scripts/bench_judge_breaker.py [--answers 2000 --alive 50 --nproc 4 16 64]

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
KEY = "sk-bench-local"


def one_case(answers: int, alive: int, nproc: int, folder: Path) -> dict:
    from judge_server import JudgeServer
    from vlmeval_spy.harness.judging import JudgeTask, JudgeUnavailable, select_judge

    tasks = [JudgeTask(str(i), "age", "How old is she?", f"She looks about {i} years old.") for i in range(answers)]
    with JudgeServer(key=KEY) as server:
        server.die_after(alive)
        judge = select_judge(
            {
                "model": "gpt-4o",
                "api_base": f"{server.base_url}/chat/completions",
                "key": KEY,
                "nproc": nproc,
                "retry": 6,
                "timeout": 30,
                "spy_cache": str(folder / f"{nproc}.sqlite"),
            }
        )
        start = time.perf_counter()
        try:
            judge.judge_all(tasks, str(folder / "x.xlsx"))
            stopped = False
        except JudgeUnavailable:
            stopped = True
        seconds = time.perf_counter() - start
        return {
            "nproc": nproc,
            "stopped": stopped,
            "seconds": round(seconds, 2),
            "replies": len(server.answered),
            "requests after death": server.requests - len(server.answered),
            "not sent": judge.report()["not_sent"],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=2000)
    parser.add_argument("--alive", type=int, default=50, help="replies before the server dies")
    parser.add_argument("--nproc", type=int, nargs="+", default=[4, 16, 64])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cases = [one_case(args.answers, args.alive, n, Path(tmp)) for n in args.nproc]
    for case in cases:
        print(
            f"nproc {case['nproc']:3d}: stopped={case['stopped']} after {case['seconds']} s, "
            f"{case['replies']} replies, {case['requests after death']} requests after the server died, "
            f"{case['not sent']} judgments not sent"
        )
    print(json.dumps({"answers": args.answers, "alive": args.alive, "cases": cases}))


if __name__ == "__main__":
    main()
