"""`spy-align`: recipes, shipped launch configs, a full run from the command line, two processes."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from spy_align import cli

PAPER = {  # SPEC section 7: method -> (learning rate, beta)
    "sft": (6e-6, None), "dpo": (1e-6, 0.5), "nca": (3e-6, 0.01), "ncap": (3e-6, 0.01),
}


def data_args(ws) -> list[str]:
    return ["--train_file", str(ws.train_file), "--images_root", str(ws.images_root),
            "--label2text_file", str(ws.label2text_file)]


@pytest.mark.parametrize("method", list(PAPER))
def test_recipes_reproduce_the_paper_runs(method):
    script = importlib.import_module(f"spy_align.scripts.{method}")
    recipe = cli.config_paths()[f"qwen2vl_{method}"]
    script_args, args, model_args = script.make_parser().parse_args_and_config(
        ["--config", recipe, "--train_file", "t.json", "--images_root", "img"])
    learning_rate, beta = PAPER[method]
    assert model_args.model_name_or_path == "Qwen/Qwen2-VL-7B-Instruct"
    assert (args.learning_rate, args.num_train_epochs, args.lr_scheduler_type.value) == (learning_rate, 3, "cosine")
    assert (args.warmup_steps, args.weight_decay, args.gradient_accumulation_steps * 8) == (0.1, 0.05, 32)
    assert (script_args.min_pixels, script_args.max_pixels, script_args.distractors) == (200704, 1003520, True)
    assert args.max_length >= 1003520 // (28 * 28) + 256  # image tokens at max_pixels, plus text
    assert model_args.attn_implementation is None and args.bf16 in (True, False)  # left to the hardware
    if beta is not None:
        assert args.beta == beta
    if method in ("nca", "ncap"):
        assert args.loss_type == ["nca_pair"]
    if method == "ncap":
        assert args.loss_weights == [2.0]


def test_lora_recipe_uses_peft():
    script = importlib.import_module("spy_align.scripts.ncap")
    _, _, model_args = script.make_parser().parse_args_and_config(
        ["--config", cli.config_paths()["qwen2vl_ncap_lora"], "--train_file", "t.json", "--images_root", "img"])
    assert model_args.use_peft and "q_proj" in model_args.lora_target_modules


def test_launch_configs_are_valid():
    from accelerate.commands.config.config_args import load_config_from_file

    paths = cli.config_paths()
    for name in ("single_gpu", "multi_gpu", "zero1", "zero2", "zero3"):
        config = load_config_from_file(paths[name])
        stage = (config.deepspeed_config or {}).get("zero_stage")
        assert stage == (int(name[-1]) if name.startswith("zero") else None), name
    for stage in (1, 2, 3):
        ds = json.loads(Path(paths[f"ds_zero{stage}"]).read_text())
        assert ds["zero_optimization"]["stage"] == stage and ds["bf16"]["enabled"] == "auto"
    assert yaml.safe_load(Path(paths["zero2"]).read_text())["mixed_precision"] == "no"


def test_config_path_command(capsys):
    assert cli.main(["config-path", "zero2"]) == 0
    assert capsys.readouterr().out.strip().endswith("zero2.yaml")
    assert cli.main(["config-path", "nope"]) == 2


def test_bad_data_is_reported_with_file_item_and_field(tune_workspace, tmp_path, capsys):
    bad = tmp_path / "train_data.json"
    bad.write_text(json.dumps({"data_list": [{"benchmark_id": "z1"}]}))
    code = cli.main(["ncap", "--model_name_or_path", str(tune_workspace.models["qwen2_vl"]), "--train_file", str(bad),
                     "--images_root", str(tune_workspace.images_root), "--output_dir", str(tmp_path / "out")])
    assert code == 2
    assert f"{bad}: item z1: field 'label': missing" in capsys.readouterr().err


def test_command_line_run_logs_generations_and_registers_checkpoints(tune_workspace, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SPY_MODELS", str(tmp_path / "models.json"))
    out = tmp_path / "run"
    code = cli.main([
        "ncap", "--config", cli.config_paths()["qwen2vl_ncap"], *data_args(tune_workspace),
        "--eval_file", str(tune_workspace.eval_file), "--model_name_or_path", str(tune_workspace.models["qwen2_vl"]),
        "--min_pixels", "3136", "--max_pixels", "12544", "--output_dir", str(out), "--run_name", "tiny ncap",
        "--max_steps", "2", "--gradient_accumulation_steps", "1", "--save_strategy", "steps", "--save_steps", "1",
        "--logging_steps", "1", "--generation_steps", "2", "--generation_prompts_per_polarity", "1",
        "--generation_max_new_tokens", "3", "--no_gradient_checkpointing",
        "--report_to", "tensorboard" if importlib.util.find_spec("tensorboard") else "none",
    ])
    assert code == 0
    printed = capsys.readouterr().out
    assert "[spy-align] generations at step 2" in printed
    assert "non_private e1" in printed and "private     e1" in printed
    assert (out / "model.safetensors").is_file() and (out / "processor_config.json").is_file()
    if importlib.util.find_spec("tensorboard"):
        assert any(b"generations" in f.read_bytes() for f in out.glob("runs/*/events.out.tfevents.*"))
    if importlib.util.find_spec("vlmeval_spy.model_registry"):
        models = json.loads((tmp_path / "models.json").read_text())["models"]
        assert set(models) == {"tiny-ncap", "tiny-ncap-step1", "tiny-ncap-step2"}
        assert models["tiny-ncap"]["kwargs"] == {"min_pixels": 3136, "max_pixels": 12544}
        assert models["tiny-ncap"]["info"]["method"] == "ncap" and models["tiny-ncap"]["info"]["source"] == "spy-align"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_process_run_completes(tune_workspace, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SPY_MODELS": str(tmp_path / "models.json")}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "spy_align", "ncap", *data_args(tune_workspace),
         "--model_name_or_path", str(tune_workspace.models["qwen2_vl"]), "--output_dir", str(out),
         "--use_cpu", "--no_distractors", "--max_steps", "2",
         "--per_device_train_batch_size", "1", "--logging_steps", "1", "--report_to", "none", "--save_strategy", "no"],
        env=env, capture_output=True, text=True, timeout=540,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("'rewards/private/margins'") == 2  # logged by the main process only, both steps
    assert (out / "model.safetensors").is_file()
