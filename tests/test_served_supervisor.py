"""The supervisor of a served model's server, with small stand-in servers (no model, a second or two).

- a server killed by SIGKILL: the supervisor survives it, says so in the log and on its standard
  error, exits with 128 + 9, and does not abort ("Fatal Python error", formerly its exit -6);
- closing the supervisor's standard input stops the server's whole process group;
- a server whose `/health` answers 5xx (the batching server whose worker died) counts as
  stopped: it is stopped, and the message names what `/health` said.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from processes import alive
from vlmeval_spy.models.serving.servers import ManagedServer, ServerSpec, free_port, supervisor_exit

pytestmark = pytest.mark.timeout(60)
# A server that prints its pid and that of a worker it started, then waits.
SERVER_WITH_WORKER = (
    "import subprocess, sys, time; "
    "worker = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
    "print(__import__('os').getpid(), worker.pid, flush=True); time.sleep(60)"
)
UNHEALTHY_SERVER = """
import http.server, sys
class Unhealthy(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"status": "unhealthy", "detail": "the batching worker stopped: WorkerCrash: CUDA error"}'
        self.send_response(503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Unhealthy).serve_forever()
"""


def supervise(log: Path, *command: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "vlmeval_spy.models.serving.supervisor", str(log), "--", *command],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def pids_in(log: Path, timeout_s: float = 20.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while not log.exists() or not log.read_text().strip():
        assert time.monotonic() < deadline, "the server printed nothing"
        time.sleep(0.02)
    return [int(pid) for pid in log.read_text().split()]


def test_a_server_killed_by_sigkill_is_reported_by_signal_and_leaves_no_worker(tmp_path: Path):
    log = tmp_path / "server.log"
    supervisor = supervise(log, sys.executable, "-c", SERVER_WITH_WORKER)
    server, worker = pids_in(log)
    os.kill(server, signal.SIGKILL)
    assert supervisor.wait(20) == 128 + signal.SIGKILL
    stderr = supervisor.stderr.read()
    assert "server killed by signal 9 (SIGKILL)" in stderr and "Fatal Python error" not in stderr, stderr
    assert "server killed by signal 9 (SIGKILL)" in log.read_text()
    assert supervisor_exit(supervisor.returncode) == "server killed by signal 9 (SIGKILL)"
    assert not alive(worker)
    supervisor.stdin.close()


def test_closing_its_input_stops_the_server_group(tmp_path: Path):
    log = tmp_path / "server.log"
    supervisor = supervise(log, sys.executable, "-c", SERVER_WITH_WORKER)
    pids = pids_in(log)
    supervisor.stdin.close()
    assert supervisor.wait(20) == 0
    assert not any(alive(pid) for pid in pids) and "Fatal Python error" not in supervisor.stderr.read()


def test_a_server_reporting_itself_unhealthy_is_stopped_and_named(tmp_path: Path):
    port, log = free_port(), tmp_path / "server.log"
    supervisor = supervise(log, sys.executable, "-c", UNHEALTHY_SERVER, str(port))
    server = ManagedServer(ServerSpec("batched", "/ckpt/tiny", "tiny"), port, log, supervisor)
    deadline = time.monotonic() + 20
    while server._health()[0] is None:
        assert time.monotonic() < deadline, "the stand-in server did not start"
        time.sleep(0.05)
    assert server.exited(within_s=0.1) and not server.alive()
    message = server.died_message()
    assert "stopped during the run (/health answered 503" in message and "WorkerCrash: CUDA error" in message
