"""Makes `run.py` end with the exit status of the contract (`vlmeval_spy.common.exit_status`) when a
SPY-Bench evaluation failed, and says why in one message.

VLMEvalKit's `run.py` catches every exception raised while it prepares or evaluates a dataset,
logs it with `logger.exception` ("... combination failed: <error>, skipping this combination.")
and goes on; the process then exits 0. `status_of` maps our errors to their status. This
module watches the log records: a record carrying one of our errors (a judge that cannot be
used, bad input, an unknown model, a server that died) keeps its message, which says what failed
and what to do, loses its traceback, and its status is recorded. `run.py` failing to parse
`--judge-args` (a JSONDecodeError raised in its `get_judge_kwargs`) becomes one clear message.
An error that escapes `run.py` altogether (in `--api-mode`, an unknown model fails an `assert`)
is reported the same way by the exception hook, and Ctrl-C ends the run with status 130 and one
line instead of a traceback. Failures of other kinds are recorded where the
dataset is known to be a SPY-Bench one (`run_status`).
"""

from __future__ import annotations

import json
import logging
import re
import signal
import sys
import threading

from ..common import exit_status

JUDGE_ARGS_EXAMPLE = """--judge-args '{"spy_prompt": "prompt.txt"}'"""
INTERRUPTED = (
    "interrupted (Ctrl-C). Answers and judgments received so far are kept; run the same command again (with "
    "--reuse) to continue."
)
UNKNOWN_API_MODEL = re.compile(r'Model "(.+)" not found in supported_VLM')
"""`run.py --api-mode`'s assertion for a model name it does not know."""
_state = {"installed": False}


def status_of(error: BaseException) -> int:
    """The exit status an error of a SPY-Bench evaluation stands for: its class's `EXIT_STATUS`
    (SpyDataError, JudgeUnavailable, ServerError, UnknownModelError), 2 for a `--judge-args` that
    is no JSON, else 1."""
    status = getattr(type(error), "EXIT_STATUS", None)
    if isinstance(status, int):
        return status
    return exit_status.BAD_INPUT if _bad_judge_args(error) else exit_status.FAILED


def install() -> None:
    """Watch log records and uncaught errors for failures run.py would hide (idempotent)."""
    watch_interrupts()
    if _state["installed"]:
        return
    _state["installed"] = True
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and status_of(error) != exit_status.FAILED:
            _known_failure(record, error)
        return record

    logging.setLogRecordFactory(factory)
    sys.excepthook = _excepthook(sys.excepthook)


def watch_interrupts() -> None:
    """Ctrl-C ends the process with status 130 even where VLMEvalKit catches the KeyboardInterrupt and goes on
    (`run.py --api-mode` logs "interrupted by user" and would exit 0). Python's own handler is kept underneath;
    a handler someone else installed is left alone (idempotent, main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupted)


def _interrupted(signum, frame) -> None:
    exit_status.record(exit_status.INTERRUPTED)
    signal.default_int_handler(signum, frame)


def _known_failure(record: logging.LogRecord, error: BaseException) -> None:
    """The message says it all: no traceback; and the process must not exit 0."""
    record.exc_info, record.exc_text = None, None
    exit_status.record(status_of(error))
    if _bad_judge_args(error):
        record.msg = (
            f"SPY-Bench: --judge-args is not valid JSON ({error.msg}, line {error.lineno} column "
            f"{error.colno}); pass a JSON object, e.g. {JUDGE_ARGS_EXAMPLE}. This dataset was skipped."
        )
        record.args = None


def _excepthook(previous):
    def hook(kind, error, traceback) -> None:
        if isinstance(error, KeyboardInterrupt) and signal.getsignal(signal.SIGINT) is _interrupted:
            # the user asked a SPY-Bench run to stop: no traceback
            exit_status.record(exit_status.INTERRUPTED)
            print(f"SPY-Bench: {INTERRUPTED}", file=sys.stderr)
            return
        explained = _unknown_api_model(error)
        if explained is not None:
            status, message = exit_status.BAD_INPUT, explained
        elif status_of(error) != exit_status.FAILED:
            status, message = status_of(error), str(error)
        else:
            previous(kind, error, traceback)
            return
        exit_status.record(status)
        print(f"SPY-Bench: {message}", file=sys.stderr)

    return hook


def _unknown_api_model(error: BaseException) -> str | None:
    """Our explanation (with close names) of the model name `run.py --api-mode` asserted it lacks."""
    found = UNKNOWN_API_MODEL.search(str(error)) if isinstance(error, AssertionError) else None
    config = sys.modules.get("vlmeval.config")
    if found is None or config is None:
        return None
    from .named_models import ModelTable, unknown_model_message

    table = config.supported_VLM
    return unknown_model_message(found.group(1), table) if isinstance(table, ModelTable) else None


def _bad_judge_args(error: BaseException) -> bool:
    return isinstance(error, json.JSONDecodeError) and _raised_in(error, "get_judge_kwargs")


def _raised_in(error: BaseException, function: str) -> bool:
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == function:
            return True
        tb = tb.tb_next
    return False
