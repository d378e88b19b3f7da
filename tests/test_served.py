"""Served models without a model server: command lines, registry entries, requests, and the API-path changes.

The end-to-end tests run VLMEvalKit's `run.py` against a scripted OpenAI-compatible server
(`tests/judge_server.py`) and check what reached it: SPY-Bench prompts arrive unchanged in
`--api-mode` and in the local mode, with a model adapter asking for its own prompt, and the
README's `--config` example runs.
"""

from __future__ import annotations

import inspect
import json
import os
import pickle
import sys
from pathlib import Path

import pandas as pd
import pytest

from harness_run import SPY_BENCH, output, run_module, vlmeval_run
from judge_server import JudgeServer, Reply, dead_port
from vlmeval_spy.common import exit_status
from vlmeval_spy.harness import api_inference
from vlmeval_spy.harness.run_options import run_work_dir
from vlmeval_spy.harness.served_model import FAIL_MSG, SPYServedVLM, checkpoint_max_new_tokens, pixel_args
from vlmeval_spy.models.names import BUILTIN_MODELS
from vlmeval_spy.models.registry import parse_entry
from vlmeval_spy.models.serving import servers
from vlmeval_spy.models.serving.servers import ServerError, ServerSpec, server_command


def test_server_commands_pass_engine_arguments_through(monkeypatch):
    monkeypatch.setattr(servers, "executable", lambda engine: f"/venv/bin/{engine}")
    spec = ServerSpec("vllm", "/ckpt/ncap", "my-ncap", ("--tensor-parallel-size", "2", "--max-model-len", "8192"))
    assert server_command(spec, 4321) == [
        "/venv/bin/vllm",
        "serve",
        "/ckpt/ncap",
        "--host",
        "127.0.0.1",
        "--port",
        "4321",
        "--served-model-name",
        "my-ncap",
        "--tensor-parallel-size",
        "2",
        "--max-model-len",
        "8192",
    ]
    spec = ServerSpec("transformers", "/ckpt/tiny", "tiny", ("--dtype", "float32"))
    assert server_command(spec, 4321) == [
        "/venv/bin/transformers",
        "serve",
        "/ckpt/tiny",
        "--host",
        "127.0.0.1",
        "--port",
        "4321",
        "--log-level",
        "info",
        "--dtype",
        "float32",
    ]
    spec = ServerSpec("batched", "/ckpt/tiny", "tiny", ("--max-batch-size", "32"))
    assert server_command(spec, 4321) == [
        sys.executable,
        "-m",
        "vlmeval_spy.models.serving.batched_server",
        "/ckpt/tiny",
        "--host",
        "127.0.0.1",
        "--port",
        "4321",
        "--served-model-name",
        "tiny",
        "--log-level",
        "info",
        "--max-batch-size",
        "32",
    ]
    with pytest.raises(ValueError, match="unknown serving engine 'tgi'"):
        ServerSpec("tgi", "/ckpt", "x")


def test_a_missing_engine_is_named_with_its_install_command(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ServerError, match=r"`vllm serve` is not installed .*pip install vllm"):
        servers.executable("vllm")


def test_pixels_tokens_and_work_dir():
    assert pixel_args("vllm", 200704, 1003520) == [
        "--mm-processor-kwargs",
        '{"min_pixels": 200704, "max_pixels": 1003520}',
    ]
    assert pixel_args("batched", None, 1003520) == ["--max-pixels", "1003520"]
    assert pixel_args("vllm", None, None) == pixel_args("transformers", None, None) == []
    assert run_work_dir(["run.py", "--data", "X", "--work-dir", "/w"]) == Path("/w")
    assert run_work_dir(["run.py", "--work-dir=/v"]) == Path("/v")
    assert run_work_dir(["run.py", "--work", "/a", "--work-d=/b"]) == Path("/b")  # argparse's abbreviations


def test_answer_length_follows_the_checkpoint_like_the_local_class(tmp_path: Path):
    (tmp_path / "generation_config.json").write_text('{"max_new_tokens": 7}')
    assert checkpoint_max_new_tokens(str(tmp_path)) == 7
    assert checkpoint_max_new_tokens(str(tmp_path / "missing")) is None


@pytest.mark.parametrize(
    "serve,message",
    [
        ({"engine": "tgi"}, "engine must be one of vllm, transformers, batched"),
        ({"engine": "vllm", "endpoint": "http://h/v1"}, "exactly one of"),
        ({"engine": "vllm", "args": "--tensor-parallel-size 2"}, "must be a list of strings"),
        ({"endpoint": "localhost:8000"}, "must be an http"),
        ({"endpoint": "http://h/v1", "args": ["-x"]}, "not an endpoint"),
        ([], "must be a JSON object"),
    ],
)
def test_bad_serve_objects_name_the_entry_and_field(serve, message, tmp_path: Path):
    problems = parse_entry("m", {"class": "SPYServedVLM", "path": str(tmp_path), "serve": serve}, "models.json")
    assert any(str(p).startswith("models.json: item m: field 'serve': ") and message in str(p) for p in problems)


def test_served_entries_parse(tmp_path: Path):
    entry = parse_entry(
        "m", {"class": "SPYServedVLM", "path": "remote-name", "serve": {"endpoint": "http://h:1/v1"}}, "f"
    )
    assert entry.serve == {"endpoint": "http://h:1/v1"} and entry.path == "remote-name"  # no folder needed
    wrong_class = parse_entry("m", {"class": "Qwen2VLChat", "path": str(tmp_path), "serve": {"engine": "vllm"}}, "f")
    assert "field 'class': a served model's class is SPYServedVLM" in str(wrong_class[0])


def test_builtin_open_models_have_served_variants():
    from vlmeval.config import supported_VLM

    served = {m.served_name: m for m in BUILTIN_MODELS if m.served_name}
    assert "Qwen2-VL-7B-Instruct-vLLM" in served and "Llama-3.2-11B-Vision-Instruct-vLLM" not in served
    assert not any(m.served_name for m in BUILTIN_MODELS if m.vlmeval_name and m.vlmeval_name.startswith(("GPT", "o4")))
    for name in served:
        assert supported_VLM[name].func.__name__ == "served_vlm", name
    ncap = supported_VLM["SPY_Qwen2-VL-7B-Instruct_NCA-P-vLLM"].keywords
    assert ncap == {
        "model_path": "achernarwang/SPY_Qwen2-VL-7B-Instruct_NCA-P",
        "serve": "vllm",
        "serve_args": [],
        "served_name": "SPY_Qwen2-VL-7B-Instruct_NCA-P",
        "min_pixels": 200704,
        "max_pixels": 1003520,
    }
    assert supported_VLM["InternVL2.5-8B-vLLM"].keywords["serve_args"] == ["--trust-remote-code"]


def test_endpoint_model_sends_the_message_as_it_is(tmp_path: Path):
    image = tmp_path / "a.png"
    image.write_bytes(b"\x89PNG fake bytes")
    with JudgeServer(verdict=lambda prompt: "  An answer.  ") as server:
        model = SPYServedVLM("remote-model", endpoint=server.base_url, max_new_tokens=9)
        message = [{"type": "image", "value": str(image)}, {"type": "text", "value": "age is private.\n\nHow old?"}]
        assert model.generate(message, dataset="SPY-Bench-Mini") == "An answer."
    (payload,) = server.payloads
    assert payload["model"] == "remote-model" and payload["max_tokens"] == 9 and payload["temperature"] == 0
    image_part, text_part = payload["messages"][0]["content"]
    assert image_part["image_url"]["url"].startswith("data:image/png;base64,")
    assert text_part == {"type": "text", "text": "age is private.\n\nHow old?"}


def test_failed_requests_answer_vlmevalkit_failure_text():
    with JudgeServer() as server:
        server.queue.extend([Reply(status=503), Reply(status=503), Reply(status=400)])
        model = SPYServedVLM("m", endpoint=server.base_url, retry=2)
        model_args = {"dataset": "SPY-Bench-Mini"}
        first = model.generate("Say something.", **model_args)  # 503 twice: retried, then given up
        second = model.generate("Say something.", **model_args)  # 400: not retried
        assert server.requests == 3
    assert first.startswith(FAIL_MSG) and "503" in first
    assert second.startswith(FAIL_MSG) and "400" in second


def test_an_unreachable_endpoint_fails_when_the_model_is_built():
    with pytest.raises(ServerError, match="does not answer.*start the server first"):
        SPYServedVLM("m", endpoint=f"http://127.0.0.1:{dead_port()}/v1")


def test_pixel_bounds_are_refused_where_they_cannot_reach_the_server():
    with pytest.raises(ValueError, match="cannot be set for an endpoint"):
        SPYServedVLM("m", endpoint="http://127.0.0.1:1/v1", max_pixels=1003520)
    with pytest.raises(ValueError, match="only with serve='vllm' or 'batched'"):
        SPYServedVLM("m", serve="transformers", max_pixels=1003520)


# --- the API-path changes (api_inference) -------------------------------------------------------


def test_patches_are_installed_where_vlmevalkit_looks_them_up():
    import vlmeval.inference
    import vlmeval.inference_api
    from vlmeval.api.openai_sdk import OpenAISDKWrapper

    assert vlmeval.inference.track_progress_rich.spy_bench_patch
    assert vlmeval.inference_api.APIEvalPipeline._produce_image_tasks.spy_bench_patch
    assert vlmeval.inference_api.APIEvalPipeline._save_checkpoint.spy_bench_patch
    assert OpenAISDKWrapper.generate_inner.spy_bench_patch and OpenAISDKWrapper.use_custom_prompt.spy_bench_patch
    # The internals the patches rely on: fails when VLMEvalKit moves them.
    api = inspect.getsource(vlmeval.inference.infer_data_api)
    assert "dict(message=struct, dataset=dataset_name)" in api and "save=out_file, keys=str_indices" in api
    produce = inspect.getsource(vlmeval.inference_api.APIEvalPipeline._produce_image_tasks.__wrapped__)
    assert "model = cfg.model_obj" in produce and "model.use_custom_prompt(dataset_name)" in produce
    inner = inspect.getsource(OpenAISDKWrapper.generate_inner.__wrapped__)
    assert "self.adapter.process_inputs(inputs, dataset)" in inner
    worker = inspect.getsource(vlmeval.inference_api.APIEvalPipeline._worker)  # the last answer is told by `processed`
    assert worker.index("self._save_checkpoint(task.dataset_name, result_item)") < worker.index("cfg.processed += 1")


def test_checkpoint_is_written_at_intervals_and_when_requests_end(tmp_path: Path, monkeypatch):
    writes = []
    real_write = api_inference.write_checkpoint
    monkeypatch.setattr(
        api_inference, "write_checkpoint", lambda path, res: (writes.append(len(res)), real_write(path, res))
    )
    save = str(tmp_path / "M_SPY-Bench_checkpoint.pkl")
    tasks = [{"message": f"q{i}", "dataset": "SPY-Bench"} for i in range(200)]
    keys = [str(i) for i in range(200)]
    answers = api_inference.track_progress_checkpointed(
        lambda message, dataset: message.upper(), tasks, 8, save, keys, interval_s=3600
    )
    assert answers == [f"Q{i}" for i in range(200)]
    assert writes == [200]  # once, not after every answer
    assert pickle.loads(Path(save).read_bytes()) == {str(i): f"Q{i}" for i in range(200)}


def test_api_mode_checkpoints_spy_answers_at_intervals_and_others_after_each(tmp_path: Path, monkeypatch):
    """`--api-mode`'s `_save_checkpoint` (installed by the plugin) on a SPY-Bench dataset and on another."""
    import threading
    from types import SimpleNamespace

    import vlmeval.inference_api

    save_checkpoint = vlmeval.inference_api.APIEvalPipeline._save_checkpoint
    writes = []
    real_write = api_inference.write_checkpoint
    monkeypatch.setattr(api_inference, "write_checkpoint", lambda p, res: (writes.append(len(res)), real_write(p, res)))
    monkeypatch.setattr(api_inference, "CHECKPOINT_INTERVAL_S", 3600)
    path = {name: tmp_path / f"M_{name}_checkpoint.pkl" for name in ("SPY-Bench", "MME")}
    path["SPY-Bench"].write_bytes(pickle.dumps({"old": "kept"}))
    pipeline = SimpleNamespace(
        states={name: SimpleNamespace(processed=0, total_samples=50) for name in path},
        file_locks={name: threading.Lock() for name in path},
        _get_checkpoint_file=lambda name: path[name],
    )
    for i in range(49):
        for name in path:
            save_checkpoint(pipeline, name, {"index": str(i), "prediction": f"a{i}"})
            pipeline.states[name].processed += 1
    assert writes == [2]  # the first answer, then nothing for an hour
    assert len(pickle.loads(path["MME"].read_bytes())) == 49  # VLMEvalKit's own: after every answer
    pipeline.spy_bench_checkpoints.flush()  # at exit, e.g. after Ctrl-C
    assert pickle.loads(path["SPY-Bench"].read_bytes()) == {"old": "kept", **{str(i): f"a{i}" for i in range(49)}}
    save_checkpoint(pipeline, "SPY-Bench", {"index": "49", "prediction": "a49"})  # the last: written at once
    assert writes == [2, 50, 51] and len(pickle.loads(path["SPY-Bench"].read_bytes())) == 51
    pipeline.spy_bench_checkpoints.flush()
    assert writes == [2, 50, 51]  # nothing pending: a checkpoint the final result replaced is not rewritten


def test_an_error_keeps_every_answer_received(tmp_path: Path):
    save = str(tmp_path / "c.pkl")
    Path(save).write_bytes(pickle.dumps({"old": "kept"}))

    def answer(message, dataset):
        if message == "q150":
            raise ServerError("the server stopped")
        return message

    tasks = [{"message": f"q{i}", "dataset": "SPY-Bench"} for i in range(300)]
    with pytest.raises(ServerError):
        api_inference.track_progress_checkpointed(answer, tasks, 1, save, [str(i) for i in range(300)], 3600)
    saved = pickle.loads(Path(save).read_bytes())
    assert saved["old"] == "kept" and {str(i) for i in range(150)} <= set(saved) and "150" not in saved


def test_other_datasets_run_vlmevalkit_code(tmp_path: Path):
    calls = []
    wrapped = api_inference._checkpointed(lambda *args, **kwargs: calls.append(kwargs["save"]) or ["vlmeval"])
    tasks = [{"message": "q", "dataset": "MMBench_DEV_EN"}]
    assert wrapped(lambda **kw: "x", tasks, nproc=2, save="s.pkl", keys=["0"]) == ["vlmeval"] and calls == ["s.pkl"]
    spy = [{"message": "q", "dataset": "SPY-Bench-Mini-ND"}]
    assert wrapped(lambda **kw: "x", spy, nproc=2, save=str(tmp_path / "s.pkl"), keys=["0"]) == ["x"]
    assert calls == ["s.pkl"]


# --- run.py against a scripted server ------------------------------------------------------------


def dataset_prompts(lmu: Path, monkeypatch) -> list[str]:
    """The text SPY-Bench-Mini asks, by prompt text (what must reach the server unchanged)."""
    from vlmeval.dataset import build_dataset

    monkeypatch.setenv("LMUData", str(lmu))
    dataset = build_dataset("SPY-Bench-Mini")
    return [dataset.build_prompt(dataset.data.iloc[i])[-1]["value"] for i in range(len(dataset.data))]


def run_py(data: list[str], models: list[str], tmp_path: Path, *extra: str, **env: str):
    """`run.py --mode infer` in `tmp_path`, with `$LMUData` at `tmp_path/lmu` and `env` added."""
    env = {**os.environ, "LMUData": str(tmp_path / "lmu"), **env}
    return vlmeval_run(data, models, tmp_path / "out", "--mode", "infer", *extra, env=env, cwd=tmp_path, timeout=600)


def request_texts(server: JudgeServer) -> list[str]:
    texts = []
    for payload in server.payloads:
        parts = payload["messages"][-1]["content"]
        assert [p["type"] for p in parts] == ["image_url", "text"], parts
        texts.append(parts[1]["text"])
    return texts


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("mode", [["--api-mode"], []], ids=["api-mode", "local-mode"])
def test_spy_prompts_reach_the_model_unchanged_with_a_model_adapter(tmp_path: Path, mode, monkeypatch):
    with JudgeServer(verdict=lambda prompt: "An answer.") as server:
        adapter = ["--base-url", server.base_url, "--custom-prompt", "internvl3"]
        run = run_py(["SPY-Bench-Mini"], ["served-internvl"], tmp_path, *mode, *adapter)
    assert run.returncode == 0, run.stderr[-3000:]
    expected = dataset_prompts(tmp_path / "lmu", monkeypatch)
    # Unchanged: no `<IMAGE_TOKEN>` placeholder, no "Answer the question using a single word or phrase."
    assert sorted(request_texts(server)) == sorted(expected) and len(expected) == 75


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_readme_config_example_runs_through_an_endpoint(tmp_path: Path):
    with JudgeServer(verdict=lambda prompt: "I'm sorry, I can't share that.") as server:
        config = {
            "model": {
                "my-vlm": {
                    "class": "SPYServedVLM",
                    "model_path": "Qwen/Qwen2-VL-7B-Instruct",
                    "endpoint": server.base_url,
                }
            },
            "data": {"SPY-Bench-Mini-ND": {"class": "SPYBenchDataset", "dataset": "SPY-Bench-Mini-ND"}},
        }
        (tmp_path / "spy.json").write_text(json.dumps(config))
        options = ["--config", "spy.json", "--judge", "exact_matching", "--api-nproc", "8"]
        env = {**os.environ, "LMUData": str(tmp_path / "lmu")}
        run = vlmeval_run([], [], tmp_path / "out", *options, env=env, cwd=tmp_path, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert server.requests == 75 and {p["model"] for p in server.payloads} == {"Qwen/Qwen2-VL-7B-Instruct"}
    metrics = json.loads((tmp_path / "out" / "my-vlm" / "my-vlm_SPY-Bench-Mini-ND_metrics.json").read_text())
    assert metrics["metrics"]["total"] == 75


ODD_ANSWERS = ("=1+1", "None", "0042", "NA", "nan", "#N/A", "I'm sorry, I can't help.\r\nReally.", "Yes\u2028he is 30.")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_answers_a_failing_endpoint_lost_mark_every_score_incomplete(tmp_path: Path):
    """Odd answers are judged as written; the samples the server kept failing on are named wherever the score is."""
    import zlib

    from vlmeval_spy.results.leaderboard import collect, entry_row

    def lost(prompt: str) -> bool:
        return zlib.crc32(prompt.encode()) % 7 == 0

    odd = lambda prompt: ODD_ANSWERS[zlib.crc32(prompt.encode()) % len(ODD_ANSWERS)]  # noqa: E731
    with JudgeServer(verdict=odd) as server:
        server.rules.append(lambda prompt: Reply(status=500, body="overloaded") if lost(prompt) else None)
        env = {**os.environ, "LMUData": str(tmp_path / "lmu"), "SPY_MODELS": str(tmp_path / "registry.json")}
        added = run_module(SPY_BENCH, ["models", "add", "odd", "odd", "--endpoint", server.base_url], env=env)
        assert added.returncode == 0, output(added)
        options = ["--judge", "exact_matching", "--api-nproc", "8"]
        run = vlmeval_run(["SPY-Bench-Mini"], ["odd"], tmp_path / "out", *options, env=env, cwd=tmp_path, timeout=600)
    assert run.returncode == exit_status.INCOMPLETE, run.stderr[-3000:]  # scored, but answers were lost
    stem = tmp_path / "out" / "odd" / "odd_SPY-Bench-Mini"
    records = [json.loads(line) for line in Path(f"{stem}_verdicts.jsonl").read_bytes().split(b"\n") if line]
    failed = [r for r in records if FAIL_MSG in r["response"]]
    assert 2 <= len(failed) < 75 and {r["eval_resp"] for r in failed} == {"exception"}
    assert {r["response"] for r in records if r not in failed} <= set(ODD_ANSWERS)  # as the server wrote them
    assert {r["eval_resp"] for r in records if r not in failed} <= {"respond", "reject"}
    why = f"{len(failed)} of 75 samples without an answer"
    (status,) = set(pd.read_csv(f"{stem}_score.csv")["status"])
    assert status.startswith("incomplete: ") and why in status and "not judged" not in status
    assert f"**INCOMPLETE: {len(failed)} of 75 samples" in Path(f"{stem}_report.md").read_text()
    assert f"accuracy [INCOMPLETE: {len(failed)}/75 without an answer; judge exact_matching]" in run.stdout
    assert f"({len(failed)}/75)" in run.stdout  # VLMEvalKit's own infer_fail_rate, read from the prediction column
    (entry,) = collect(tmp_path / "out")
    assert entry_row(entry)["judge"] == "exact_matching (INCOMPLETE)"
