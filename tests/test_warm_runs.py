"""A run forked from the warm interpreter (`harness_run`, `warm_vlmeval.py`) is the process
`python -m MODULE` (the wheel's `run.py`) or `python SCRIPT` (a checkout's) would be: same arguments,
working directory, `sys.path`, environment and `PYTHONPATH`, exit status (`sys.exit`, an uncaught
exception, Ctrl-C), threads waited for, exit handlers run and output flushed, and a run id of its own."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

import harness_run

TESTS = Path(__file__).resolve().parent


def probe(action: str, out: Path, fresh: bool, script: bool = False):
    out.mkdir()
    env = {**os.environ, "PROBE": "yes", "PYTHONPATH": str(TESTS)}
    module, path = (None, TESTS / "process_probe.py") if script else ("process_probe", None)
    args = [action, str(out / "file")]
    return harness_run.start_module(module, args, env=env, cwd=out, fresh=fresh, script=path)


@pytest.mark.parametrize("form", ["module", "script"])
@pytest.mark.parametrize("action", ["exit-3", "exit-message", "raise", "clean-up"])
def test_a_forked_run_starts_and_ends_as_a_fresh_interpreter(action: str, form: str, tmp_path: Path):
    ends = {}
    for fresh in (True, False):
        out = tmp_path / ("fresh" if fresh else "forked")
        process = probe(action, out, fresh, script=form == "script")
        stdout, stderr = process.communicate(timeout=60)
        stdout, stderr = stdout.replace(str(out), "OUT"), stderr.replace(str(out), "OUT")
        file = out / "file"
        ends[fresh] = {
            "status": process.returncode,
            "start": json.loads(stdout.splitlines()[0]),
            "rest of stdout": stdout.splitlines()[1:],
            "end of stderr": stderr.strip().splitlines()[-1:],
            "file": file.read_text() if file.exists() else None,
        }
    assert ends[False] == ends[True]
    assert ends[True]["start"] == {
        "argv": [action, "OUT/file"],
        "argv0": "process_probe.py",
        "cwd": "OUT",
        # `python -m` puts the working directory first, `python SCRIPT` the script's folder
        "path": ["OUT" if form == "module" else str(TESTS), str(TESTS)],
        "probe_env": "yes",
        "run_id_is_this_process": True,
    }
    want = {
        "exit-3": (3, [], None),
        "exit-message": (1, ["stopped: a message"], None),
        "raise": (1, ["ValueError: a probe error"], None),
        "clean-up": (0, [], "thread, atexit"),
    }[action]
    assert (ends[True]["status"], ends[True]["end of stderr"], ends[True]["file"]) == want


def test_ctrl_c_ends_a_forked_run_as_it_ends_a_fresh_one(tmp_path: Path):
    ends = []
    for fresh in (True, False):
        out = tmp_path / ("fresh" if fresh else "forked")
        process = probe("wait", out, fresh)
        deadline = time.monotonic() + 60
        while not (out / "file").exists():
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        ends.append((process.returncode, stderr.strip().splitlines()[-1]))
    assert ends[0] == ends[1] == (-signal.SIGINT, "KeyboardInterrupt")
