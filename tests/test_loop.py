"""The loop of docs/loop.md on CPU: `spy-align ncap` -> registry -> `run.py` base and trained -> leaderboard.

The tiny model's answers are gibberish; the point is that every step works in fresh processes,
with no glue between them, and that the trained model's row appears next to the base model's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def run(command: list[str], env: dict, cwd: Path) -> str:
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-5000:]
    return log


@pytest.mark.timeout(900)
def test_train_register_evaluate_leaderboard(tune_workspace, tmp_path: Path):
    from transformers import GenerationConfig

    base = shutil.copytree(tune_workspace.models["qwen2_vl"], tmp_path / "base")
    # Short answers keep CPU inference quick; the trained checkpoint inherits this setting.
    generation = GenerationConfig.from_pretrained(base)
    generation.max_new_tokens = 4
    generation.save_pretrained(base)
    registry = tmp_path / "models.json"
    env = {**os.environ, "SPY_MODELS": str(registry), "LMUData": str(tmp_path / "lmu")}
    python = sys.executable

    run([python, "-m", "vlmeval_spy.cli", "models", "add", "tiny-base", str(base)], env, tmp_path)
    run(
        [
            python,
            "-m",
            "spy_align",
            "ncap",
            "--model_name_or_path",
            str(base),
            "--train_file",
            str(tune_workspace.train_file),
            "--images_root",
            str(tune_workspace.images_root),
            "--label2text_file",
            str(tune_workspace.label2text_file),
            "--output_dir",
            str(tmp_path / "ncap"),
            "--run_name",
            "tiny-ncap",
            "--num_train_epochs",
            "1",
            "--per_device_train_batch_size",
            "4",
            "--save_strategy",
            "epoch",
            "--learning_rate",
            "1e-3",
            "--beta",
            "0.5",
            "--report_to",
            "none",
            "--gradient_checkpointing",
            "false",
        ],
        env,
        tmp_path,
    )

    models = json.loads(registry.read_text())["models"]
    assert set(models) == {"tiny-base", "tiny-ncap", "tiny-ncap-epoch1"}
    assert models["tiny-ncap"]["path"] == str(tmp_path / "ncap")
    assert models["tiny-ncap"]["info"]["method"] == "ncap"
    assert models["tiny-ncap"]["info"]["base_model"] == str(base)

    run(
        [
            python,
            "-m",
            "vlmeval.run",
            "--data",
            "SPY-Bench-Mini",
            "--model",
            "tiny-base",
            "tiny-ncap",
            "--judge",
            "exact_matching",
            "--work-dir",
            str(tmp_path / "out"),
        ],
        env,
        tmp_path,
    )
    board = run([python, "-m", "vlmeval_spy.cli", "leaderboard", str(tmp_path / "out")], env, tmp_path)

    rows = [line for line in board.splitlines() if line.startswith("| tiny-")]
    assert [row.split("|")[1].strip() for row in rows] == ["tiny-base", "tiny-ncap"], board
    assert all("SPY-Bench-Mini" in row for row in rows)
    assert (tmp_path / "out" / "leaderboard.md").is_file()
