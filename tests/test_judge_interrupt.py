"""Ctrl-C and SIGTERM while the LLM judge works, through `python -m vlmeval.run` in its own process: the
judge sends nothing after the signal, the run ends at once with 130 (Ctrl-C) or killed by SIGTERM (a
shell's 143) and no traceback, every reply received stays in the judge cache, and a re-run sends only
the rest (issue 28)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from harness_run import SPY_BENCH, run_module, start_module, start_vlmeval_run
from judge_server import JudgeServer
from vlmeval_spy.common import exit_status
from vlmeval_spy.judge.cache import CACHE_NAME

pytestmark = pytest.mark.timeout(600)

MODEL = "SPY-AlwaysReject"
DATASET = "SPY-Bench-Mini"
DISTINCT = 15
"""A fixed answer: one distinct judge prompt per (attribute, question) of the mini benchmark."""
NPROC = 2


def start(root: Path, server: JudgeServer, *mode: str):
    """A judged run with `NPROC` judge threads, started (it returns at once)."""
    (root / "lmu").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_API_BASE")}
    env["LMUData"] = str(root / "lmu")
    extra = ["--api-nproc", str(NPROC), "--judge", "gpt-4o", "--judge-base-url", server.base_url]
    return start_vlmeval_run(
        [DATASET], [MODEL], root / "work", *extra, "--judge-key", "sk-test", *mode, env=env, cwd=root
    )


def cached(root: Path) -> int:
    with sqlite3.connect(root / "work" / CACHE_NAME) as db:
        return db.execute("SELECT COUNT(*) FROM judgments").fetchone()[0]


def wait_for(condition, what: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.parametrize(
    "signum,status,mode",
    [
        (signal.SIGINT, exit_status.INTERRUPTED, ()),
        (signal.SIGTERM, -signal.SIGTERM, ()),
        (signal.SIGINT, exit_status.INTERRUPTED, ("--api-mode",)),
    ],
    ids=["Ctrl-C", "SIGTERM", "Ctrl-C-api-mode"],
)
def test_a_signal_while_the_judge_works_stops_it_and_a_rerun_sends_only_the_rest(tmp_path, signum, status, mode):
    with JudgeServer(latency=1.0) as server:
        run = start(tmp_path, server, *mode)
        wait_for(lambda: server.requests >= 4 or run.poll() is not None, "4 judge requests")
        run.send_signal(signum)
        sent = server.requests
        out, err = run.communicate(timeout=120)
        text = out + (err or "")
        assert run.returncode == status, text[-3000:]
        assert "Traceback" not in text, text[-3000:]
        # Nothing new after the signal: at most the requests already on their way.
        assert server.requests <= sent + NPROC
        assert len(server.answered) < DISTINCT
        assert not (tmp_path / "work" / MODEL / f"{MODEL}_{DATASET}_score.csv").exists()
        kept = cached(tmp_path)
        # Every reply the run read is in the cache; one the server sent as the run died may not be.
        assert len(set(server.answered)) - NPROC <= kept <= len(set(server.answered))
        if signum == signal.SIGINT and not mode:  # --api-mode judges in a worker process, which VLMEvalKit ends
            assert f"{kept} of {DISTINCT} judgments of this pass are in the judge cache" in text

        server.latency = 0.0
        before = server.requests
        rerun = start(tmp_path, server, *mode)
        out, err = rerun.communicate(timeout=300)
        assert rerun.returncode == 0, (out + (err or ""))[-3000:]
        assert server.requests - before == DISTINCT - kept
    assert cached(tmp_path) == DISTINCT


def test_ctrl_c_stops_spy_bench_judge_and_a_rerun_sends_only_the_rest(tmp_path):
    records = tmp_path / "records.jsonl"
    rows = [
        {"benchmark_id": f"b{i}", "label": "a1_age_approx", "is_privacy": 1, "scenario": None}
        | {"attribute": "age", "question": "How old is she?", "response": f"About {20 + i}."}
        for i in range(12)
    ]
    records.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "judged.jsonl"
    with JudgeServer(latency=1.0) as server:
        args = ["judge", str(records), "--judge", "gpt-4o", "--judge-base-url", server.base_url]
        args += ["--judge-key", "sk-test", "--nproc", str(NPROC), "-o", str(out)]
        run = start_module(SPY_BENCH, args)
        wait_for(lambda: server.requests >= 3 or run.poll() is not None, "3 judge requests")
        run.send_signal(signal.SIGINT)
        sent = server.requests
        stdout, stderr = run.communicate(timeout=120)
        assert run.returncode == exit_status.INTERRUPTED, (stdout + (stderr or ""))[-3000:]
        assert "Traceback" not in stdout + (stderr or "") and "interrupted (Ctrl-C)" in (stderr or "")
        assert server.requests <= sent + NPROC and not out.exists()
        with sqlite3.connect(tmp_path / CACHE_NAME) as db:
            kept = db.execute("SELECT COUNT(*) FROM judgments").fetchone()[0]
        assert kept >= len(server.answered) - NPROC
        server.latency = 0.0
        before = server.requests
        assert run_module(SPY_BENCH, args).returncode == 0
        assert server.requests - before == len(rows) - kept
