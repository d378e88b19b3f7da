"""How the latest evaluation of a model on a SPY-Bench dataset ended, beside its prediction file.

Every evaluation attempt, successful or not, writes `<model>_<dataset>_attempt.json` next to the
prediction file: the outcome (`complete`, `incomplete` or `failed`), the judge, the time it
ended, the exit status it stands for (`exit_status`) and, for a failure, the error. A failed
attempt deletes nothing, so the files of an earlier result stay; this record is how the
leaderboard knows that they are not the latest word (docs/specification.md §4.4).

`RUN` identifies the process that made a record (and its forked children, such as VLMEvalKit's
evaluation workers in `--api-mode`), so a run never mistakes an earlier run's record for its own.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..common.atomic import write_json

COMPLETE, INCOMPLETE, FAILED = "complete", "incomplete", "failed"
SUFFIX = "_attempt.json"
RUN = f"{os.getpid()}-{time.time_ns()}"
CAUSE_CHARS = 160


def now() -> str:
    """The local time with its UTC offset, to the second (the form VLMEvalKit's status.json uses)."""
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


@dataclass(frozen=True)
class Attempt:
    outcome: str
    """complete, incomplete or failed."""
    judge: str
    at: str
    """When the attempt ended (`now()`)."""
    exit_status: int
    """What the attempt means for the exit status (`vlmeval_spy.common.exit_status`)."""
    error: str = ""
    run: str = field(default_factory=lambda: RUN)
    """The run that made the record: `RUN` when the record is made, not when this module was imported."""

    @property
    def cause(self) -> str:
        """The error in a few words: what follows "cannot be used:", else its first sentence."""
        text = self.error.split("cannot be used: ", 1)[-1].removeprefix("SPY-Bench: ").strip()
        first = re.split(r"(?<=[.!?])\s|\n", text, maxsplit=1)[0].rstrip(".")
        return first if len(first) <= CAUSE_CHARS else first[: CAUSE_CHARS - 3] + "..."

    def marker(self) -> str:
        """How a result superseded by this failed attempt is marked wherever it is shown."""
        return f"latest attempt failed ({self.at[:10]}, judge {self.judge or 'unknown'}: {self.cause})"


def attempt_path(prediction_file: str | Path) -> Path:
    """`<stem>_attempt.json` beside a prediction file (VLMEvalKit's naming of files derived from it)."""
    path = Path(prediction_file)
    return path.with_name(path.stem + SUFFIX)


def this_runs_attempt(path: str | Path) -> Attempt | None:
    """The record at `path` if this run (this process, or a worker it forked) wrote it, else None."""
    attempt = read_attempt(path)
    return attempt if attempt is not None and attempt.run == RUN else None


def write_attempt(path: str | Path, attempt: Attempt) -> None:
    write_json(path, asdict(attempt))


def read_attempt(path: str | Path) -> Attempt | None:
    """The record, or None when there is none or it cannot be read (for the run itself: never a reason to fail)."""
    try:
        return load_attempt(path)
    except (OSError, ValueError):
        return None


def load_attempt(path: str | Path) -> Attempt:
    """The record; OSError when it cannot be opened, ValueError saying why when it is not an attempt record."""
    data = Path(path).read_bytes()
    try:
        fields = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ValueError(f"not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start})") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"malformed JSON at line {err.lineno}: {err.msg}") from None
    try:
        attempt = Attempt(**fields) if isinstance(fields, dict) else None
    except TypeError as err:
        raise ValueError(f"not an attempt record ({err})") from None
    if attempt is None or attempt.outcome not in (COMPLETE, INCOMPLETE, FAILED) or not isinstance(attempt.at, str):
        raise ValueError("not an attempt record (outcome complete, incomplete or failed, and its time 'at')")
    return attempt
