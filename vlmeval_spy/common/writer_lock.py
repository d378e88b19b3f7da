"""One writer at a time for a set of files: an advisory lock on a lock file that names its holder.

`fcntl.flock` on `<name>.lock`: the kernel releases it when the holding process ends in any way (SIGKILL
included), so a lock whose holder died is simply free again, never stale; what the file says about its
holder (pid, host, start time) is only for the message a refused writer prints. The lock file is never
removed (removing a locked file lets a third writer lock a new one beside it). Keep work dirs on a
local disk: `flock` may not lock across hosts on a network file system.
"""

from __future__ import annotations

import datetime
import fcntl
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from .errors import Problem, SpyDataError

_held: dict[Path, int] = {}
"""Lock file -> the descriptor holding it, in this process."""


@dataclass(frozen=True)
class Holder:
    pid: int | str
    host: str
    started: str

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host}, started {self.started}"


class LockHeld(SpyDataError):
    """Another process holds the lock (exit status 2: wait for it, or write elsewhere)."""


def acquire(path: str | Path, what: str, advice: str) -> None:
    """Hold the lock at `path` for this process (again: no-op); LockHeld naming the holder, `what` is written
    and what to do (`advice`), when another process holds it."""
    path = Path(path).resolve()
    if path in _held:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        message = f"{what} is being written by another run ({holder}). {advice}"
        raise LockHeld([Problem(str(path), message)]) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(_me()).encode(), 0)
    _held[path] = fd


def release(path: str | Path) -> None:
    """Let the next writer in (no-op when this process does not hold it)."""
    fd = _held.pop(Path(path).resolve(), None)
    if fd is not None:
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _me() -> dict:
    started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    return {"pid": os.getpid(), "host": socket.gethostname(), "started": started}


def _holder(fd: int) -> Holder:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:  # being written this very moment
        data = {}
    return Holder(data.get("pid", "?"), data.get("host", "?"), data.get("started", "?"))
