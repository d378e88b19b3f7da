"""Two real `run.py` processes on one work dir (issue 28): one writer per model and dataset.

- default mode: a second run of the same model and dataset, started while the first works, is refused
  at once with exit status 2 naming the first (pid, host, start time); it touches nothing, and the first
  ends as if alone;
- a run killed with SIGKILL leaves no lock behind: the next run takes over;
- `--api-mode` runs (each in its own run folder) go on together and share the judge cache: the judge
  is asked each distinct prompt once across both.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest

from harness_run import start_vlmeval_run
from judge_server import JudgeServer
from vlmeval_spy.common import exit_status

pytestmark = pytest.mark.timeout(600)

MODEL = "SPY-AlwaysReject"
DATASET = "SPY-Bench-Mini"
DISTINCT = 15
"""A fixed answer: one distinct judge prompt per (attribute, question) of the mini benchmark."""


def start(root: Path, server: JudgeServer, *extra: str):
    (root / "lmu").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_API_BASE")}
    env["LMUData"] = str(root / "lmu")
    judge = ["--judge", "gpt-4o", "--judge-base-url", server.base_url, "--judge-key", "sk-test"]
    return start_vlmeval_run([DATASET], [MODEL], root / "work", "--api-nproc", "2", *judge, *extra, env=env, cwd=root)


def finish(run, timeout_s: float = 300):
    out, err = run.communicate(timeout=timeout_s)
    return run.returncode, out + (err or "")


def wait_for(condition, what: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def status_entry(root: Path, run_folder: Path | None = None) -> dict:
    """The dataset's entry in the model folder's status.json, or in a run folder's (GitHub main's layout
    links a run's status.json into the model folder only once a dataset has succeeded)."""
    folder = run_folder or root / "work" / MODEL
    return json.loads((folder / "status.json").read_text())["datasets"][DATASET]


def test_a_second_run_of_the_same_model_and_dataset_is_refused_naming_the_first(tmp_path):
    with JudgeServer() as server:
        server.gate.clear()  # the first run waits in judging, holding the work
        first = start(tmp_path, server)
        wait_for(lambda: server.requests >= 1, "the first run to judge")
        # The model folder (the wheel) or the first run's folder (GitHub main)
        (prediction,) = (tmp_path / "work" / MODEL).rglob(f"{MODEL}_{DATASET}.xlsx")
        before = (prediction.read_bytes(), status_entry(tmp_path, prediction.parent))
        code, text = finish(start(tmp_path, server), 120)
        assert code == exit_status.BAD_INPUT, text[-3000:]
        assert "Traceback" not in text
        assert f"{MODEL} on {DATASET} in {tmp_path / 'work' / MODEL} is being written by another run " in text
        assert f"(pid {first.pid} on {socket.gethostname()}, started 20" in text
        # refused before touching anything
        assert (prediction.read_bytes(), status_entry(tmp_path, prediction.parent)) == before
        server.gate.set()
        code, text = finish(first)
        assert code == 0, text[-3000:]
        assert server.requests == DISTINCT
    assert status_entry(tmp_path)["status"] == "done"
    score = tmp_path / "work" / MODEL / f"{MODEL}_{DATASET}_score.csv"
    assert "complete" in score.read_text()


def test_a_run_killed_while_it_holds_the_work_leaves_no_lock(tmp_path):
    with JudgeServer() as server:
        server.gate.clear()
        killed = start(tmp_path, server)
        wait_for(lambda: server.requests >= 1, "the run to judge")
        killed.send_signal(signal.SIGKILL)
        killed.wait(60)
        server.gate.set()
        code, text = finish(start(tmp_path, server))
        assert code == 0, text[-3000:]
    assert status_entry(tmp_path)["status"] == "done"


def test_api_mode_runs_together_share_the_judge_cache(tmp_path):
    with JudgeServer(latency=0.4) as server:
        began = time.monotonic()
        first = start(tmp_path, server, "--api-mode")
        # Each run writes into a run folder named by its start second: start the second in another second.
        wait_for(lambda: server.requests >= 1 and time.monotonic() - began > 1.2, "the first run to judge")
        second = start(tmp_path, server, "--api-mode")
        ends = [finish(first), finish(second)]
        assert [code for code, _ in ends] == [0, 0], [text[-2000:] for _, text in ends]
        # Each distinct prompt once across both runs (a claim that lapses could add one; none should here).
        assert server.requests == DISTINCT, server.requests
        assert len(set(server.prompts)) == DISTINCT
    reports = sorted((tmp_path / "work" / MODEL).glob(f"T*/{MODEL}_{DATASET}_judge.json"))
    assert len(reports) == 2
    # Neither run was refused anything: each recorded its own result in its run folder's status.json.
    assert [status_entry(tmp_path, report.parent)["status"] for report in reports] == ["done", "done"]
    calls = [json.loads(path.read_text())["calls"] for path in reports]
    assert sum(calls) == DISTINCT and min(calls) < DISTINCT
