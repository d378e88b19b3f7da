"""Model servers started for a run: `vllm serve`, `transformers serve` or our batching server on a free loopback port.

One server runs at a time per process. Every model object (and every dataset) of the same
served checkpoint shares it; asking for another checkpoint stops the previous server first,
since both would compete for the same GPUs. The server runs under `served_supervisor`, which
stops its whole process group when this process closes the pipe to it or dies (even by
SIGKILL), so no server outlives the evaluation. Its output goes to a log file in the run's work
dir. Standard library only (no VLMEvalKit, no torch).
"""

from __future__ import annotations

import atexit
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ...common.exit_status import INCOMPLETE
from ..registry import ENGINES
from .supervisor import describe_exit

STARTUP_TIMEOUT_S = {"vllm": 1800.0, "transformers": 900.0, "batched": 900.0}
"""How long a server may take to load its model before the run gives up (large checkpoints load slowly)."""
POLL_S = 0.5
LOG_TAIL_LINES = 25
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""Opens loopback URLs without the HTTP(S)_PROXY of the environment."""


class ServerError(RuntimeError):
    """A served model's server could not start, or stopped during the run."""

    EXIT_STATUS = INCOMPLETE
    """The answers it could not give are lost: whatever is scored is incomplete."""


@dataclass(frozen=True)
class ServerSpec:
    """What to serve: `model` is a checkpoint folder or a Hugging Face id."""

    engine: str
    model: str
    served_name: str
    args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"unknown serving engine {self.engine!r}: use one of {', '.join(ENGINES)}")


def executable(engine: str) -> str:
    """The engine's command: beside this interpreter (a virtual environment), else on PATH."""
    beside = Path(sys.executable).with_name(engine)
    found = str(beside) if beside.exists() else shutil.which(engine)
    if found is None:
        extra = "pip install vllm" if engine == "vllm" else "pip install 'transformers[serving]'"
        raise ServerError(f"`{engine} serve` is not installed in this environment ({sys.executable}): {extra}")
    return found


def server_command(spec: ServerSpec, port: int) -> list[str]:
    """The command line that serves `spec` on 127.0.0.1:`port`; `spec.args` come last, passed through."""
    common = [spec.model, "--host", "127.0.0.1", "--port", str(port)]
    if spec.engine == "vllm":
        return [executable("vllm"), "serve", *common, "--served-model-name", spec.served_name, *spec.args]
    if spec.engine == "batched":
        return [
            sys.executable,
            "-m",
            "vlmeval_spy.models.serving.batched_server",
            *common,
            "--served-model-name",
            spec.served_name,
            "--log-level",
            "info",
            *spec.args,
        ]
    # `transformers serve MODEL` preloads MODEL and answers every request with it.
    return [executable("transformers"), "serve", *common, "--log-level", "info", *spec.args]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def supervisor_exit(returncode: int) -> str:
    """How the server ended, from its supervisor's exit status (128 + N: the server was killed by signal N)."""
    if returncode > 128 and returncode - 128 in signal.valid_signals():
        return f"server {describe_exit(128 - returncode)}"
    if returncode < 0:
        return f"its supervisor {describe_exit(returncode)}"
    return f"exit code {returncode}"


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


class ManagedServer:
    """A started server: its URL, log and supervisor process."""

    def __init__(self, spec: ServerSpec, port: int, log: Path, supervisor: subprocess.Popen):
        self.spec, self.port, self.log, self.supervisor = spec, port, log, supervisor
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self.command = server_command(spec, port)
        self.unhealthy: str | None = None  # what /health said when the server was stopped for it

    @classmethod
    def start(cls, spec: ServerSpec, log_dir: Path, startup_timeout_s: float | None = None) -> ManagedServer:
        """Start the server and wait until it answers `/health`; raises ServerError with the log's tail."""
        port = free_port()
        command = server_command(spec, port)
        log_dir.mkdir(parents=True, exist_ok=True)
        log = log_dir / f"{re.sub(r'[^A-Za-z0-9._+-]', '_', spec.served_name)}-{spec.engine}-{port}.log"
        log.write_text(f"$ {' '.join(command)}\n", encoding="utf-8")
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "vlmeval_spy.models.serving.supervisor", str(log), "--", *command],
            stdin=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C reaches run.py only; run.py stops the server
        )
        server = cls(spec, port, log, supervisor)
        print(
            f"SPY-Bench: started `{spec.engine} serve` for {spec.served_name} on port {port} (log: {log})",
            file=sys.stderr,
            flush=True,
        )
        server.wait_healthy(startup_timeout_s or STARTUP_TIMEOUT_S[spec.engine])
        return server

    def alive(self) -> bool:
        return self.supervisor.poll() is None

    def exited(self, within_s: float) -> bool:
        """Whether the server has stopped, or stops within `within_s` seconds.

        A server that answers `/health` with a 5xx (the batching server whose worker died) would
        fail every request from now on: it is stopped, and counts as stopped.
        """
        try:
            self.supervisor.wait(within_s)
        except subprocess.TimeoutExpired:
            status, body = self._health()
            if status is None or status < 500:
                return False
            self.unhealthy = f"/health answered {status}: {body}"
            self.stop()
        return True

    def wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.alive():
                raise ServerError(
                    f"{self.describe()} stopped while starting ({supervisor_exit(self.supervisor.returncode)}); "
                    f"the end of its log {self.log}:\n{log_tail(self.log)}"
                )
            if self._health_ok():
                return
            time.sleep(POLL_S)
        self.stop()
        raise ServerError(
            f"{self.describe()} did not become healthy within {timeout_s:.0f} s and was stopped; "
            f"the end of its log {self.log}:\n{log_tail(self.log)}"
        )

    def _health_ok(self) -> bool:
        return self._health()[0] == 200

    def _health(self) -> tuple[int | None, str]:
        """`/health`'s status and the start of its body; None when no answer comes."""
        try:
            with DIRECT.open(f"http://127.0.0.1:{self.port}/health", timeout=5) as response:
                return response.status, ""
        except urllib.error.HTTPError as err:
            return err.code, err.read(500).decode("utf-8", errors="replace")
        except (urllib.error.URLError, OSError):
            return None, ""

    def describe(self) -> str:
        return f"the `{self.spec.engine} serve` server of {self.spec.served_name} (port {self.port})"

    def died_message(self) -> str:
        how = self.unhealthy or supervisor_exit(self.supervisor.returncode)
        return (
            f"{self.describe()} stopped during the run ({how}); the end of its "
            f"log {self.log}:\n{log_tail(self.log)}\nAnswers received so far are kept: run the same command "
            f"again with --reuse to send only the missing samples."
        )

    def stop(self) -> None:
        """Close the supervisor's pipe (it stops the server group) and wait for it."""
        if self.supervisor.stdin and not self.supervisor.stdin.closed:
            self.supervisor.stdin.close()
        try:
            self.supervisor.wait(60)
        except subprocess.TimeoutExpired:
            self.supervisor.kill()
            self.supervisor.wait()


class _Pool:
    """The one server of this process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current: ManagedServer | None = None

    def acquire(self, spec: ServerSpec, log_dir: Path, startup_timeout_s: float | None = None) -> ManagedServer:
        with self.lock:
            current = self.current
            if current is not None and current.spec == spec:
                if not current.alive():
                    raise ServerError(current.died_message())
                return current
            if current is not None:
                current.stop()
                self.current = None
            self.current = ManagedServer.start(spec, log_dir, startup_timeout_s)
            return self.current

    def stop_all(self) -> None:
        with self.lock:
            if self.current is not None:
                self.current.stop()
                self.current = None


POOL = _Pool()
atexit.register(POOL.stop_all)
