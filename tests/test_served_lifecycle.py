"""A served checkpoint against a real server: the tiny offline Qwen2-VL under `transformers serve` (CPU).

- its greedy answers on SPY-Bench-Mini equal the per-sample `SPYTransformersVLM` answers, and so
  do the batching server's (`--serve batched`) through `run.py`, answered in batches;
- `run.py` starts one server, reuses it for both datasets and stops it when the run ends;
- SIGKILL of `run.py`, or Ctrl-C, leaves no server behind;
- a server that dies mid-run stops the dataset with a clear error, and the re-run with
  `--reuse` sends only the samples that are missing.

The server's own process id is read from its log (uvicorn's "Started server process [PID]").
"""

from __future__ import annotations

import os
import pickle
import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from transformers import GenerationConfig

from harness_run import SPY_BENCH, run_module, start_vlmeval_run, vlmeval_run
from judge_server import dead_port
from processes import alive
from spy_align.tiny_models import build_tiny_vlm
from vlmeval_spy.common import exit_status
from vlmeval_spy.harness.served_model import FAIL_MSG

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
MAX_NEW_TOKENS = 8
SERVED, BATCHED, MINI = "tiny-served", "tiny-batched", ("SPY-Bench-Mini", "SPY-Bench-Mini-ND")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("served")
    checkpoint = build_tiny_vlm(root / "tiny", "qwen2_vl")
    config = GenerationConfig.from_pretrained(checkpoint)
    config.max_new_tokens = MAX_NEW_TOKENS
    # Stop at <|endoftext|> too, as Qwen2-VL's own generation config does: the random model emits it, and
    # `transformers serve` drops the text before a special token that does not end the answer.
    config.eos_token_id = [config.eos_token_id, config.pad_token_id]
    config.save_pretrained(checkpoint)
    env = {**os.environ, "SPY_MODELS": str(root / "models.json"), "LMUData": str(root / "lmu")}
    for name, engine in ((SERVED, "transformers"), (BATCHED, "batched")):
        added = run_module(SPY_BENCH, ["models", "add", name, str(checkpoint), "--serve", engine], env=env)
        assert added.returncode == 0, added.stderr
    return root


def env_of(root: Path) -> dict[str, str]:
    return {**os.environ, "SPY_MODELS": str(root / "models.json"), "LMUData": str(root / "lmu")}


def run_py(root: Path, work: str, *extra: str, datasets=MINI, popen: bool = False, model: str = SERVED):
    """`run.py --mode infer` (unless `extra` names a mode) on the served model: run to its end, or started (`popen`)."""
    extra = extra if "--mode" in extra else ("--mode", "infer", *extra)
    if popen:
        return start_vlmeval_run(datasets, [model], root / work, *extra, env=env_of(root), cwd=root, merge_stderr=True)
    return vlmeval_run(datasets, [model], root / work, *extra, env=env_of(root), cwd=root, timeout=800)


def server_logs(work: Path) -> list[Path]:
    return sorted((work / "served").glob(f"{SERVED}-transformers-*.log"))


def wait_for(condition, what: str, timeout_s: float = 300.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def server_pid(log: Path) -> int | None:
    match = re.search(r"Started server process \[(\d+)\]", log.read_text(errors="replace")) if log.exists() else None
    return int(match.group(1)) if match else None


def requests_in(log: Path) -> int:
    return log.read_text(errors="replace").count("POST /v1/chat/completions")


def predictions_of(work: Path, dataset: str, model: str = SERVED) -> list[str]:
    """The predictions of the run's newest prediction file."""
    newest = max(work.glob(f"{model}/**/{model}_{dataset}.xlsx"), key=lambda p: p.stat().st_mtime)
    return [str(p) for p in pd.read_excel(newest)["prediction"]]


@pytest.fixture(scope="module")
def local_answers(workspace: Path) -> dict[str, dict[int, str]]:
    """Each mini dataset's answers by index, from the per-sample `SPYTransformersVLM` path."""
    from vlmeval.dataset import build_dataset

    from vlmeval_spy.harness.hf_model import SPYTransformersVLM

    local = SPYTransformersVLM(str(workspace / "tiny"))
    assert local.generation_kwargs["max_new_tokens"] == MAX_NEW_TOKENS
    answers = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LMUData", str(workspace / "lmu"))
        for name in MINI:
            dataset = build_dataset(name)
            answers[name] = {
                int(row["index"]): local.generate(message=dataset.build_prompt(row), dataset=name)
                for _, row in dataset.data.iterrows()
            }
    return answers


def test_served_answers_equal_local_greedy_answers(workspace: Path, local_answers, monkeypatch):
    from vlmeval.dataset import build_dataset

    from vlmeval_spy.harness.served_model import SPYServedVLM
    from vlmeval_spy.models.serving.servers import POOL

    monkeypatch.setenv("LMUData", str(workspace / "lmu"))
    dataset = build_dataset("SPY-Bench-Mini")
    prompts = [dataset.build_prompt(row) for _, row in dataset.data.iterrows()]
    served = SPYServedVLM(str(workspace / "tiny"), serve="transformers", log_dir=str(workspace / "inproc"))
    try:
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda p: served.generate(message=p, dataset="SPY-Bench-Mini"), prompts))
    finally:
        POOL.stop_all()
    assert len(prompts) == 75 and served.max_new_tokens == MAX_NEW_TOKENS
    assert answers == list(local_answers["SPY-Bench-Mini"].values())


def test_the_batching_server_answers_run_py_in_batches_as_the_local_path(workspace: Path, local_answers):
    from vlmeval_spy.results.prediction_files import read_prediction_rows

    work = workspace / "out-batched"
    run = run_py(workspace, work.name, "--api-nproc", "16", model=BATCHED)
    assert run.returncode == 0, run.stderr[-3000:]
    (log,) = sorted((work / "served").glob(f"{BATCHED}-batched-*.log"))
    sizes = [int(n) for n in re.findall(r"answered a batch of (\d+)", log.read_text())]
    assert sum(sizes) == 150 and max(sizes) > 1, sizes  # both datasets, one server, batched
    assert not alive(server_pid(log))
    for dataset in MINI:
        (predictions,) = work.glob(f"{BATCHED}/**/{BATCHED}_{dataset}.xlsx")
        answers = {row["index"]: row["prediction"] for row in read_prediction_rows(predictions)}
        assert answers == local_answers[dataset]


def test_one_server_for_every_dataset_stopped_when_the_run_ends(workspace: Path):
    run = run_py(workspace, "out-reuse")
    assert run.returncode == 0, run.stderr[-3000:]
    (log,) = server_logs(workspace / "out-reuse")  # one server for both datasets
    assert requests_in(log) == 150
    assert not alive(server_pid(log))
    for dataset in MINI:
        predictions = predictions_of(workspace / "out-reuse", dataset)
        assert len(predictions) == 75 and not any(FAIL_MSG in p for p in predictions)


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "Ctrl-C"])
def test_a_killed_or_interrupted_run_leaves_no_server(workspace: Path, stop: signal.Signals):
    work = workspace / f"out-{stop.name}"
    run = run_py(workspace, work.name, popen=True)
    try:
        log = wait_for(lambda: next(iter(server_logs(work)), None), "the server log")
        pid = wait_for(lambda: server_pid(log), "the server to start")
        wait_for(lambda: requests_in(log) >= 5, "the first answers")
    finally:
        run.send_signal(stop)
        run.wait(120)
    wait_for(lambda: not alive(pid), "the server to stop", timeout_s=60)


def test_a_judge_that_cannot_be_used_stops_the_run_with_status_3_and_no_server_left(workspace: Path):
    work = workspace / "out-dead-judge"
    run = run_py(workspace, work.name, "--mode", "all", "--api-nproc", "16", "--judge", "gpt-4o", "--judge-base-url",
                 f"http://127.0.0.1:{dead_port()}/v1", datasets=MINI[:1], model=BATCHED)  # fmt: skip
    assert run.returncode == exit_status.JUDGE_UNAVAILABLE, run.stderr[-3000:]
    (log,) = (work / "served").glob(f"{BATCHED}-batched-*.log")
    pid = server_pid(log)
    assert pid is not None and not alive(pid)
    assert len(predictions_of(work, "SPY-Bench-Mini", BATCHED)) == 75


def test_a_server_dying_mid_run_then_resume_sends_only_what_is_missing(workspace: Path):
    work = workspace / "out-crash"
    run = run_py(workspace, "out-crash", "--api-nproc", "2", datasets=MINI[:1], popen=True)
    log = wait_for(lambda: next(iter(server_logs(work)), None), "the server log")
    wait_for(lambda: requests_in(log) >= 20, "20 answers")
    os.kill(server_pid(log), signal.SIGKILL)
    output, _ = run.communicate(timeout=300)
    assert run.returncode == exit_status.INCOMPLETE, output[-3000:]
    assert "stopped during the run" in output and str(log) in output and "--reuse" in output, output[-3000:]
    (checkpoint,) = work.glob(f"{SERVED}/**/{SERVED}_SPY-Bench-Mini_checkpoint.pkl")
    saved = pickle.loads(checkpoint.read_bytes())
    kept = sum(FAIL_MSG not in answer for answer in saved.values())
    # The server logs a request when its answer starts: the two in flight (--api-nproc 2) when it was
    # killed may have been cut off, so 18 of the 20 logged are certain to be kept.
    assert 20 - 2 <= kept < 75

    rerun = run_py(workspace, "out-crash", "--api-nproc", "2", "--reuse", datasets=MINI[:1])
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    first, second = server_logs(work)
    assert requests_in(second if first == log else first) == 75 - kept
    predictions = predictions_of(work, "SPY-Bench-Mini")
    assert len(predictions) == 75 and not any(FAIL_MSG in p for p in predictions)
