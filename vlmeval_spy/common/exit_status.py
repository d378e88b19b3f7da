"""The exit-status contract of every SPY-Bench command (README, "Exit status").

| status | meaning |
|---|---|
| 0 | every requested SPY-Bench result is complete |
| 1 | something else failed (a bug or a crash: the traceback says where) |
| 2 | bad input or usage: an unknown model or dataset name, bad arguments, a file without records |
| 3 | an LLM judge that was asked for cannot be used |
| 4 | a result was written but is incomplete (judge or inference failures beyond the threshold, a
      served model's server that died) |
| 130 | interrupted by Ctrl-C (SIGINT) |
| 143 | stopped by SIGTERM |

When several happen in one run, the highest status is the exit status.

VLMEvalKit's `run.py` catches every error of a dataset, logs it and exits 0. The harness records
the status of each SPY-Bench failure here, and `install_exit_handler` makes the process end with
it. The handler is registered when the interpreter starts (by the `.pth` import hook), before any
other module registers its own: `atexit` runs handlers last-registered first, so every other
handler (checkpoint flushes, server shutdown, timing files) has run when this one ends the process.
Standard library only: it is imported at every interpreter start.
"""

from __future__ import annotations

import atexit
import os
import sys

OK = 0
FAILED = 1
BAD_INPUT = 2
JUDGE_UNAVAILABLE = 3
INCOMPLETE = 4
INTERRUPTED = 130
"""128 + SIGINT, what a shell reports for a process Ctrl-C ended."""
TERMINATED = 143
"""128 + SIGTERM."""

_state = {"status": OK, "handler": False}


def record(status: int) -> None:
    """Remember a failure; the process will exit with the highest status recorded."""
    _state["status"] = max(_state["status"], status)


def recorded() -> int:
    return _state["status"]


def reset() -> None:
    """Forget what was recorded (a caller that reports the status itself, or a test)."""
    _state["status"] = OK


def install_exit_handler() -> None:
    """Register the handler that ends the process with the recorded status (idempotent)."""
    if not _state["handler"]:
        _state["handler"] = True
        atexit.register(_exit_with_recorded_status)


def _exit_with_recorded_status() -> None:
    """A normal exit cannot change its status from an atexit handler: end the process here, after
    every other handler ran (they were registered later, so they ran first)."""
    status = _state["status"]
    if status == OK:
        return
    if "logging" in sys.modules:
        sys.modules["logging"].shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken stream: nothing more can be said
            pass
    os._exit(status)
