"""Makes `run.py` end with a non-zero exit status when it skipped an evaluation for a reason of ours.

VLMEvalKit's `run.py` catches every exception raised while it prepares or evaluates a dataset,
logs it with `logger.exception` ("... combination failed: <error>, skipping this combination."),
records it in `status.json` and goes on; the process then exits 0. A benchmark whose judge
could not be used must not end like a success, so this module watches those log records:

- a record carrying a `JudgeUnavailable` keeps its message (which says what failed and what to
  do), loses the traceback, and the process will exit with `EXIT_JUDGE_UNAVAILABLE` (3);
- `run.py` failing to parse `--judge-args` (a JSONDecodeError raised in its `get_judge_kwargs`)
  becomes one clear message, without traceback, and the process will exit with `EXIT_BAD_INPUT` (2).

An `atexit` handler cannot change the exit status of a normal exit, so the one registered here
flushes the logs and the standard streams and ends the process with `os._exit`.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import sys

from .judge_base import JudgeUnavailable

EXIT_BAD_INPUT = 2
EXIT_JUDGE_UNAVAILABLE = 3
JUDGE_ARGS_EXAMPLE = """--judge-args '{"spy_prompt": "prompt.txt"}'"""
_state = {"installed": False, "status": 0}


def install() -> None:
    """Watch log records for errors run.py swallowed (idempotent)."""
    if _state["installed"]:
        return
    _state["installed"] = True
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, JudgeUnavailable):
            _swallowed(record, EXIT_JUDGE_UNAVAILABLE)
        elif isinstance(error, json.JSONDecodeError) and _raised_in(error, "get_judge_kwargs"):
            _swallowed(record, EXIT_BAD_INPUT)
            record.msg = (
                f"SPY-Bench: --judge-args is not valid JSON ({error.msg}, line {error.lineno} column "
                f"{error.colno}); pass a JSON object, e.g. {JUDGE_ARGS_EXAMPLE}. This dataset was skipped."
            )
            record.args = None
        return record

    logging.setLogRecordFactory(factory)


def _raised_in(error: BaseException, function: str) -> bool:
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == function:
            return True
        tb = tb.tb_next
    return False


def _swallowed(record: logging.LogRecord, status: int) -> None:
    """The message says it all: no traceback; and the process must not exit 0."""
    record.exc_info, record.exc_text = None, None
    if not _state["status"]:
        atexit.register(_exit_with_status)
    _state["status"] = max(_state["status"], status)


def _exit_with_status() -> None:
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(_state["status"])
