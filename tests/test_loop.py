"""docs/loop.md's CPU loop, run as the doc writes it: SPY-Tune-Mini -> `spy-align ncap` -> registry ->
`run.py` on the base and the trained model -> leaderboard.

The commands are read from the doc's "The same loop on CPU" block, not copied here, and run by bash in an
empty folder with the set-up command's `.venv/bin` first on PATH, as a user would after
`source .venv/bin/activate`. The tiny model's answers are gibberish; the point is that every step works in
fresh processes, with no glue between them, and that the trained model's row appears next to the base's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

LOOP_DOC = Path(__file__).resolve().parents[1] / "docs" / "loop.md"
SECTION = "## The same loop on CPU"


def documented_commands(doc: Path = LOOP_DOC) -> str:
    """The bash block of the doc's CPU-loop section, exactly as written."""
    section = doc.read_text(encoding="utf-8").split(SECTION, 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    return block


@pytest.mark.timeout(900)
def test_the_documented_cpu_loop_runs_as_written(tmp_path: Path):
    commands = documented_commands()
    assert "spy-align tune-mini" in commands and "spy-bench leaderboard out" in commands
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", commands], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-5000:]

    models = json.loads((tmp_path / "models.json").read_text())["models"]
    assert set(models) == {"tiny-base", "tiny-ncap", "tiny-ncap-epoch1"}
    assert models["tiny-ncap"]["path"] == str(tmp_path / "tiny-ncap")
    assert models["tiny-ncap"]["info"]["method"] == "ncap"
    assert models["tiny-ncap"]["info"]["base_model"] == str(tmp_path / "tiny")
    rows = [line for line in (tmp_path / "out" / "leaderboard.md").read_text().splitlines() if "| tiny-" in line]
    assert [row.split("|")[1].strip() for row in rows] == ["tiny-base", "tiny-ncap"], log[-3000:]
    assert all("SPY-Bench-Mini" in row for row in rows)


def test_spy_tune_mini_is_spy_bench_mini_in_spy_tune_format(tmp_path: Path):
    from spy_align.tune_datasets import load_tune_files
    from spy_align.tune_mini import write_tune_mini
    from vlmeval_spy.bench.mini import QUESTIONS_PATH

    train, evaluation, label2text = write_tune_mini(tmp_path)
    train_items, eval_items = load_tune_files([train, evaluation], tmp_path, label2text)  # validates every field
    assert (len(train_items), len(eval_items)) == (12, 3)
    bench = json.loads(QUESTIONS_PATH.read_text())["benchmark_list"]
    tune = json.loads(train.read_text())["data_list"] + json.loads(evaluation.read_text())["data_list"]
    for source, item in zip(bench, tune, strict=True):
        assert item["question_item"]["respond_ans"] == source["question_item"]["gt"]
        assert item["other_labels"][source["label"]] == 0.5
        assert (tmp_path / item["question_item"]["image_path"]).is_file()
