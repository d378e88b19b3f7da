"""`spy-bench view`: load the results, then serve the viewer on one loopback port until stopped.

Only 127.0.0.1 is bound, on the given port (0: any free one); the address is printed once the
results are loaded, and nothing is opened or fetched. Ctrl-C (or SIGTERM) stops the server.
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

from ...common.errors import Problem, SpyDataError
from .store import Store

HOST = "127.0.0.1"


def bind(port: int) -> socket.socket:
    """A listening loopback socket; a port in use is bad input (exit status 2), not a crash."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, port))
    except OSError as err:
        sock.close()
        why = f"cannot listen on {HOST}:{port} ({err.strerror}); pick another port, or 0 for any free one"
        raise SpyDataError([Problem(f"--port {port}", why)]) from None
    sock.listen(128)
    return sock


def serve(work_dirs: list[Path], data_root: Path, port: int, cache_dir: Path | None) -> None:
    """Load every result (bad work dirs raise SpyDataError), print the address, serve until stopped."""
    import uvicorn

    from .app import create_app

    start = time.perf_counter()
    sock = bind(port)
    store = Store(work_dirs, data_root, cache_dir)
    server = uvicorn.Server(uvicorn.Config(create_app(store), log_level="warning", access_log=False))
    read = f"{store.read} verdicts files read, the others from the cache"
    loaded = f"{len(store.runs)} results, {len(store.samples)} samples ({read}) in {time.perf_counter() - start:.1f} s"
    print(f"SPY-Bench viewer: http://{HOST}:{sock.getsockname()[1]}/ ({loaded}; Ctrl-C stops it)", flush=True)
    for run in store.runs:
        for note in run.notes:
            print(f"spy-bench view: {run.model} ({run.dataset}): {note}", file=sys.stderr)
    server.run(sockets=[sock])
