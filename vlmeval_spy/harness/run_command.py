"""The command line of VLMEvalKit's `run.py`, built in one place for the tests and the scripts."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path


def run_args(data: Sequence[str], models: Sequence[str], work_dir: str | Path, *extra: str) -> list[str]:
    """`run.py`'s arguments: the datasets, the models and the work dir, then `extra` as given (no `--data`
    or `--model` when there is none: a `--config` file in `extra` names them)."""
    named = [*(["--data", *data] if data else []), *(["--model", *models] if models else [])]
    return [*named, "--work-dir", str(work_dir), *extra]


def run_command(data: Sequence[str], models: Sequence[str], work_dir: str | Path, *extra: str) -> list[str]:
    """`python -m vlmeval.run` with `run_args`, by this interpreter."""
    return [sys.executable, "-m", "vlmeval.run", *run_args(data, models, work_dir, *extra)]
