"""`python -m vlmeval.run` in a subprocess, as the harness tests run it: in `ROOT` with `$LMUData` at
`ROOT/lmu`, the work dir at `ROOT/work`, and no OpenAI judge configuration inherited from the caller."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_py(root: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    (root / "lmu").mkdir(exist_ok=True)
    base = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_API_BASE")}
    cmd = [sys.executable, "-m", "vlmeval.run", "--work-dir", str(root / "work"), "--api-nproc", "4", *args]
    return subprocess.run(
        cmd, env={**base, "LMUData": str(root / "lmu"), **(env or {})}, capture_output=True, text=True, cwd=root
    )


def output(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout + proc.stderr
