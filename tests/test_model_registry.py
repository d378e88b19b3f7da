"""The model registry: file IO, bad entries, concurrent writers, built-in names, `run.py --model NAME`."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

import harness_run
from vlmeval_spy.cli import main as spy_bench
from vlmeval_spy.common.errors import SpyDataError
from vlmeval_spy.models.names import BUILTIN_MODELS, PAPER_MODELS, SPY_CHECKPOINTS
from vlmeval_spy.models.registry import (
    NAME_PATTERN,
    add_model,
    load_registry,
    record_checkpoint,
    registry_path,
    remove_model,
)


@pytest.fixture
def registry(tmp_path: Path, monkeypatch) -> Path:
    path = tmp_path / "registry" / "models.json"
    monkeypatch.setenv("SPY_MODELS", str(path))
    return path


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    folder = tmp_path / "ckpt"
    folder.mkdir()
    return folder


def write_models(path: Path, models: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": 1, "models": models}))


def test_registry_location(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("SPY_MODELS", str(tmp_path / "m.json"))
    assert registry_path() == tmp_path / "m.json"
    monkeypatch.delenv("SPY_MODELS")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert registry_path() == tmp_path / "cache" / "spy_bench" / "models.json"


def test_record_checkpoint_round_trip(registry: Path, checkpoint: Path, monkeypatch):
    monkeypatch.chdir(checkpoint.parent)
    record_checkpoint(
        "ncap-final",
        "ckpt",
        method="ncap",
        epoch=3,
        base_model=Path("/models/base"),
        model_kwargs={"max_pixels": 1003520},
    )
    (entry,), problems = load_registry()
    assert problems == []
    assert (entry.name, entry.model_class, entry.path) == ("ncap-final", "SPYTransformersVLM", str(checkpoint))
    assert entry.kwargs == {"max_pixels": 1003520}
    assert entry.info == {"method": "ncap", "epoch": 3, "base_model": "/models/base"}
    record_checkpoint("ncap-final", checkpoint, "Qwen2VLChat")  # same name: replaced
    (entry,), _ = load_registry()
    assert entry.model_class == "Qwen2VLChat" and entry.info == {} and entry.kwargs == {}
    assert not list(registry.parent.glob(".models.json.*.tmp"))


def test_record_checkpoint_refuses_bad_input(registry: Path, checkpoint: Path):
    with pytest.raises(ValueError, match="does not exist"):
        record_checkpoint("x", checkpoint / "missing")
    for name in ("", "a/b", "-x", "has space", "x" * 129):
        with pytest.raises(ValueError, match="invalid model name"):
            record_checkpoint(name, checkpoint)
    with pytest.raises(SpyDataError, match="model_path"):
        add_model("x", str(checkpoint), kwargs={"model_path": "elsewhere"})
    assert not registry.exists()


def test_bad_entries_are_reported_and_good_ones_kept(registry: Path, checkpoint: Path):
    write_models(
        registry,
        {
            "good": {"class": "SPYTransformersVLM", "path": str(checkpoint)},
            "stale": {"path": str(checkpoint / "deleted")},
            "no-path": {"class": "SPYTransformersVLM"},
            "bad class": {"path": str(checkpoint)},
            "odd": ["not", "an", "object"],
            "typed": {"class": "my-class", "path": str(checkpoint), "kwargs": [], "hub": "yes"},
            "hub-ok": {"path": "org/model", "hub": True},
            "hub-bad": {"path": "not an id", "hub": True},
        },
    )
    entries, problems = load_registry()
    assert sorted(e.name for e in entries) == ["good", "hub-ok"]
    text = [str(p) for p in problems]
    assert all(t.startswith(f"{registry}: item ") for t in text)
    assert f"{registry}: item stale: field 'path': checkpoint folder {checkpoint / 'deleted'} does not exist" in text
    assert any("item no-path: field 'path'" in t for t in text)
    assert any("item bad class: invalid model name" in t for t in text)
    assert any("item odd: entry must be a JSON object" in t for t in text)
    assert {p.field for p in problems if p.item == "typed"} == {"class", "kwargs", "hub"}
    assert any("item hub-bad: field 'path'" in t for t in text)


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not a readable JSON file"),
        ('{"models": []}', '"models" object'),
        ('{"version": 9, "models": {}}', "format version 9"),
    ],
)
def test_unreadable_file_is_one_problem_and_never_overwritten(registry: Path, checkpoint: Path, content, message):
    registry.parent.mkdir(parents=True)
    registry.write_text(content)
    entries, (problem,) = load_registry()
    assert entries == [] and message in str(problem) and str(registry) in str(problem)
    with pytest.raises(SpyDataError, match="fix or delete it"):
        record_checkpoint("x", checkpoint)
    assert registry.read_text() == content


def test_remove(registry: Path, checkpoint: Path):
    record_checkpoint("a", checkpoint)
    record_checkpoint("b", checkpoint)
    assert remove_model("a") is True and remove_model("a") is False
    assert [e.name for e in load_registry()[0]] == ["b"]


def _record_many(args: tuple[str, str, int]) -> None:
    registry, folder, worker = args
    os.environ["SPY_MODELS"] = registry
    for i in range(5):
        record_checkpoint(f"w{worker}-e{i}", folder, epoch=i)


def test_concurrent_writers_lose_nothing(registry: Path, checkpoint: Path):
    with multiprocessing.get_context("fork").Pool(4) as pool:
        pool.map(_record_many, [(str(registry), str(checkpoint), w) for w in range(8)])
    entries, problems = load_registry()
    assert problems == []
    assert sorted(e.name for e in entries) == sorted(f"w{w}-e{i}" for w in range(8) for i in range(5))


def test_builtin_table_covers_the_paper():
    assert len(PAPER_MODELS) == 21
    methods = ("SFT", "DPO", "NCA", "NCA-P")
    assert [m.name for m in SPY_CHECKPOINTS[:4]] == [f"SPY_Qwen2-VL-7B-Instruct_{m}" for m in methods]
    assert all(m.hf_id == f"achernarwang/{m.name}" for m in SPY_CHECKPOINTS[:4])
    names = [m.name for m in BUILTIN_MODELS]
    assert len(set(names)) == len(names) and all(NAME_PATTERN.fullmatch(n) for n in names)
    assert all(m.vlmeval_name or m.hf_id for m in BUILTIN_MODELS)


def test_builtin_names_resolve_in_vlmevalkit():
    import vlmeval.config as config

    table = config.supported_VLM
    for model in BUILTIN_MODELS:
        assert model.name in table, model.name
        if model.vlmeval_name:
            assert model.vlmeval_name in table, model.vlmeval_name
            assert table[model.name] is table[model.vlmeval_name]
    spy = table["SPY_Qwen2-VL-7B-Instruct_NCA-P"]
    assert spy.keywords == {
        "model_path": "achernarwang/SPY_Qwen2-VL-7B-Instruct_NCA-P",
        "min_pixels": 200704,
        "max_pixels": 1003520,
    }


def test_registration_warns_per_broken_entry_and_explains_unknown_names(registry: Path, checkpoint: Path):
    import vlmeval.config  # noqa: F401  (its import registers the SPY-Bench models)

    from vlmeval_spy.harness.named_models import ModelTable, register_registry

    write_models(
        registry,
        {
            "good": {"path": str(checkpoint), "kwargs": {"max_new_tokens": 4}},
            "on-qwen": {"class": "Qwen2VLChat", "path": str(checkpoint), "kwargs": {"max_pixels": 1003520}},
            "stale": {"path": str(checkpoint / "deleted")},
            "no-class": {"class": "NoSuchVLM", "path": str(checkpoint)},
        },
    )
    table = ModelTable({"Qwen2-VL-7B-Instruct": None}, registry)
    with pytest.warns(UserWarning) as caught:
        register_registry(table)
    warned = [str(w.message) for w in caught]
    assert len(warned) == 2
    assert any(f"{registry}: item stale: field 'path'" in w for w in warned)
    assert any(f"{registry}: item no-class: field 'class'" in w for w in warned)
    assert table["good"].keywords == {"model_path": str(checkpoint), "max_new_tokens": 4}
    assert table["on-qwen"].func.__name__ == "Qwen2VLChat"  # built lazily: nothing loaded yet
    with pytest.raises(KeyError, match="entry is broken.*does not exist"):
        table["stale"]
    with pytest.raises(KeyError, match="unknown model 'Qwen2-VL-7B-Instruc'.*Did you mean: Qwen2-VL-7B-Instruct"):
        table["Qwen2-VL-7B-Instruc"]


def test_models_cli(registry: Path, checkpoint: Path, capsys):
    assert spy_bench(["models", "add", "mine", str(checkpoint), "--kwargs", '{"max_new_tokens": 8}']) == 0
    assert (
        spy_bench(
            [
                "models",
                "add",
                "released",
                "achernarwang/SPY_Qwen2-VL-7B-Instruct_SFT",
                "--hub",
                "--class",
                "Qwen2VLChat",
            ]
        )
        == 0
    )
    for bad, message in (
        (["models", "add", "x", "org/not-here"], "add --hub"),
        (["models", "add", "x", str(checkpoint), "--kwargs", "[1]"], "JSON object"),
        (["models", "add", "a/b", str(checkpoint)], "invalid model name"),
        (["models", "remove", "nope"], "no model 'nope'"),
    ):
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            spy_bench(bad)
        assert exit_info.value.code == 2  # a user's mistake, as in every spy-bench command
        assert message in capsys.readouterr().err
    capsys.readouterr()
    assert spy_bench(["models", "list", "--builtin"]) == 0
    out = capsys.readouterr().out
    assert f"mine      SPYTransformersVLM  {checkpoint}" in out
    assert "released  Qwen2VLChat         achernarwang/SPY_Qwen2-VL-7B-Instruct_SFT (hub)" in out
    assert "SPY_Qwen2-VL-7B-Instruct_NCA-P" in out and "VLMEvalKit GPT4o_20241120" in out
    assert spy_bench(["models", "remove", "released"]) == 0
    assert [e.name for e in load_registry()[0]] == ["mine"]


def test_models_cli_registers_served_models(registry: Path, checkpoint: Path, capsys):
    assert (
        spy_bench(
            [
                "models",
                "add",
                "on-vllm",
                str(checkpoint),
                "--serve",
                "vllm",
                "--tensor-parallel-size",
                "2",
                "--engine-args",
                "--max-model-len 8192",
            ]
        )
        == 0
    )
    assert spy_bench(["models", "add", "remote", "Qwen/Qwen2-VL-7B-Instruct", "--endpoint", "http://gpu:8000/v1"]) == 0
    models = json.loads(registry.read_text())["models"]
    assert models["on-vllm"]["class"] == "SPYServedVLM"
    assert models["on-vllm"]["serve"] == {
        "engine": "vllm",
        "args": ["--max-model-len", "8192", "--tensor-parallel-size", "2"],
    }
    assert models["remote"]["serve"] == {"endpoint": "http://gpu:8000/v1"}
    for bad, message in (
        (["models", "add", "x", str(checkpoint), "--tensor-parallel-size", "2"], "need --serve"),
        (
            ["models", "add", "x", str(checkpoint), "--serve", "transformers", "--tensor-parallel-size", "2"],
            "vLLM engine argument",
        ),
        (["models", "add", "x", "m", "--endpoint", "http://h/v1", "--serve", "vllm"], "running server"),
        (["models", "add", "x", "m", "--endpoint", "ftp://h"], "http(s) URL"),
        (["models", "add", "x", str(checkpoint), "--serve", "vllm", "--class", "Qwen2VLChat"], "leave out --class"),
    ):
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            spy_bench(bad)
        assert exit_info.value.code == 2 and message in capsys.readouterr().err, bad
    assert spy_bench(["models", "list", "--builtin"]) == 0
    out = capsys.readouterr().out
    assert "on-vllm  SPYServedVLM (vllm)" in out and "remote   SPYServedVLM (http://gpu:8000/v1)" in out
    assert "Qwen2-VL-7B-Instruct-vLLM" in out


@pytest.mark.timeout(600)
def test_run_py_evaluates_a_registered_checkpoint_in_a_fresh_process(tmp_path: Path, registry: Path):
    from spy_align.tiny_models import build_tiny_vlm

    checkpoint = build_tiny_vlm(tmp_path / "tiny", "qwen2_vl")
    env = {**os.environ, "LMUData": str(tmp_path / "lmu"), "SPY_MODELS": str(registry)}
    add = ["models", "add", "tiny-ckpt", str(checkpoint), "--kwargs", '{"max_new_tokens": 4}']
    assert harness_run.run_module(harness_run.SPY_BENCH, add, env=env).returncode == 0
    write_models(registry, {**json.loads(registry.read_text())["models"], "gone": {"path": str(tmp_path / "deleted")}})
    # fresh: the registry is read while VLMEvalKit is imported, by the `.pth` hook
    out = tmp_path / "out"
    run = harness_run.vlmeval_run(
        ["SPY-Bench-Mini"], ["tiny-ckpt", "gone"], out, "--judge", "exact_matching", env=env, cwd=tmp_path, fresh=True
    )
    log = run.stdout + run.stderr
    metrics = json.loads((tmp_path / "out" / "tiny-ckpt" / "tiny-ckpt_SPY-Bench-Mini_metrics.json").read_text())
    assert metrics["metrics"]["total"] == 75, log
    assert f"{registry}: item gone: field 'path'" in log
    assert "model 'gone' is in the registry" in log and "its entry is broken" in log
