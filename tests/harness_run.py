"""VLMEvalKit's `run.py` (and `spy-bench`) as separate processes, for every test that runs them.

`run.py` is whichever the installed VLMEvalKit has (`vlmeval_spy.harness.run_command.locate_run_py`):
`python -m vlmeval.run` with the wheel, `python VLMEvalKit/run.py` with a checkout.

Each run is a real process with its own exit status, files and children, but it does not import
VLMEvalKit again: it is forked from a warm interpreter (`warm_vlmeval.py`) that imported it
once for the whole session (once per pytest-xdist worker). `SPY_TESTS_FRESH_RUNS=1` starts every run as a
fresh interpreter instead, the way a user starts it (the suite passes either way).
A few tests need a fresh interpreter by nature (the `.pth` hook, torchrun): `fresh=True`.

The command line itself comes from `vlmeval_spy.harness.run_command`, like the scripts'.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

from vlmeval_spy.harness.run_command import locate_run_py, run_args

WARM = Path(__file__).resolve().parent / "warm_vlmeval.py"
FRESH = os.environ.get("SPY_TESTS_FRESH_RUNS") == "1"
SPY_BENCH = "vlmeval_spy.cli"
"""The module `spy-bench` runs."""


class ForkedRun:
    """A run forked from a warm interpreter, used like `subprocess.Popen` (stdout and stderr are files)."""

    def __init__(self, args: list[str], conn: socket.socket, outputs: tuple[Path, Path | None]):
        self.args, self.conn, self.outputs = args, conn, outputs
        self.buffer = b""
        self.pid = self._message(None)["pid"]
        self.returncode: int | None = None

    def _message(self, timeout: float | None) -> dict:
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(self.args, timeout)
            self.conn.settimeout(left)
            try:
                chunk = self.conn.recv(4096)
            except TimeoutError:
                raise subprocess.TimeoutExpired(self.args, timeout) from None
            if not chunk:
                raise RuntimeError(f"the warm interpreter stopped before run {self.args} ended")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = self._message(timeout)["returncode"]
            self.conn.close()
        return self.returncode

    def poll(self) -> int | None:
        try:
            return self.wait(0.001)
        except subprocess.TimeoutExpired:
            return None

    def communicate(self, timeout: float | None = None) -> tuple[str, str | None]:
        self.wait(timeout)
        out, err = self.outputs
        return read(out), None if err is None else read(err)

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


class WarmInterpreter:
    """One `warm_vlmeval.py` server; it exits when this process closes its standard input."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="spy-warm-"))
        self.socket = self.folder / "socket"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["SPY_MODELS"] = str(self.folder / "no-registry.json")  # each run registers its own
        with open(self.folder / "log", "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(WARM), str(self.socket)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                cwd=self.folder,
            )
        if self.process.stdout.readline() != b"ready\n":
            raise RuntimeError(f"the warm interpreter did not start: {read(self.folder / 'log')[-3000:]}")

    def fork(self, target: dict, args: list[str], env: Mapping[str, str], cwd: Path, merge: bool) -> ForkedRun:
        fd, name = tempfile.mkstemp(prefix="run-", suffix=".out", dir=self.folder)
        os.close(fd)  # the child opens it by name
        out = Path(name)
        err = out if merge else out.with_suffix(".err")
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(str(self.socket))
        request = {**target, "args": args, "env": dict(env), "cwd": str(cwd), "stdout": str(out), "stderr": str(err)}
        conn.sendall(json.dumps(request).encode() + b"\n")
        return ForkedRun([*target.values(), *args], conn, (out, None if merge else err))

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(30)
        shutil.rmtree(self.folder, ignore_errors=True)  # its log and the runs' outputs


_warm: list[WarmInterpreter] = []


@atexit.register
def _close() -> None:
    for warm in _warm:
        warm.close()


def start_module(
    module: str | None,
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    merge_stderr: bool = False,
    fresh: bool = False,
    script: Path | None = None,
) -> ForkedRun | subprocess.Popen:
    """`python -m MODULE ARGS` (or `python SCRIPT ARGS`) started, in `cwd` with `env` (default: this process's)."""
    env = dict(os.environ if env is None else env)
    cwd = Path.cwd() if cwd is None else Path(cwd)
    target = {"script": str(script)} if script else {"module": module}
    if fresh or FRESH:
        stderr = subprocess.STDOUT if merge_stderr else subprocess.PIPE
        command = [sys.executable, *([str(script)] if script else ["-m", module]), *args]
        return subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=stderr, text=True)
    if not _warm:
        _warm.append(WarmInterpreter())
    return _warm[0].fork(target, list(args), env, cwd, merge_stderr)


def start_run_py(args: Sequence[str], **options) -> ForkedRun | subprocess.Popen:
    """The installed VLMEvalKit's `run.py` with `args`, started as `start_module` starts a module."""
    run_py = locate_run_py()
    return start_module(run_py.module, args, script=None if run_py.module else run_py.path, **options)


def run_module(
    module: str | None, args: Sequence[str], *, timeout: float | None = None, **options
) -> subprocess.CompletedProcess:
    """`start_module`, then wait for the end: the exit status and both outputs, as `subprocess.run` gives them."""
    return finish(start_module(module, args, **options), timeout)


def finish(process: ForkedRun | subprocess.Popen, timeout: float | None) -> subprocess.CompletedProcess:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def vlmeval_run(
    data: Sequence[str],
    models: Sequence[str],
    work_dir: str | Path,
    *extra: str,
    timeout: float | None = None,
    **options,
) -> subprocess.CompletedProcess:
    """`run.py --data DATA --model MODELS --work-dir WORK_DIR EXTRA...` run to its end."""
    return finish(start_run_py(run_args(data, models, work_dir, *extra), **options), timeout)


def start_vlmeval_run(
    data: Sequence[str], models: Sequence[str], work_dir: str | Path, *extra: str, **options
) -> ForkedRun | subprocess.Popen:
    """`vlmeval_run` started, for a test that acts while it runs (kills it, kills its server)."""
    return start_run_py(run_args(data, models, work_dir, *extra), **options)


def run_py(root: Path, data: Sequence[str], models: Sequence[str], *extra: str, env: dict | None = None):
    """A run as the judge and exit-status tests make it: in `root` with `$LMUData` at `root/lmu`, the
    work dir at `root/work`, 4 API threads, and no OpenAI judge configuration inherited."""
    (root / "lmu").mkdir(exist_ok=True)
    base = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_API_BASE")}
    env = {**base, "LMUData": str(root / "lmu"), **(env or {})}
    return vlmeval_run(data, models, root / "work", "--api-nproc", "4", *extra, env=env, cwd=root)


def output(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout + (proc.stderr or "")


def load_run_py() -> ModuleType:
    """The installed VLMEvalKit's `run.py` as a module, without running its main: the wheel's `vlmeval.run`,
    or a checkout's `run.py` loaded from its file (for tests that check the internals it relies on)."""
    run_py = locate_run_py()
    if run_py.module:
        return importlib.import_module(run_py.module)
    name = "spy_tests_run_py"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, run_py.path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
