"""Keeps API keys out of VLMEvalKit's logs and run-status files.

VLMEvalKit's `run.py` logs the judge arguments (`key` included), `OpenAIWrapper` logs its key
at INFO level, and `run.py` records `sys.argv` (with `--judge-key` / `--key`) in the
`status.json` it writes under the work dir; its log file lives there too. `install()`, run
when SPY-Bench registers into VLMEvalKit, masks every known secret as `***` in all log records
and in that recorded argv.

Known secrets: the values of `--judge-key` / `--key` on the command line, however argparse accepts
them (`--judge-k`, `--judge-ke=...`: `run_options`), a `key` (or
`api_key`) inside `--judge-args` JSON and inside the model and dataset entries of a `--config`
file, keys handed to the judge (`add_secret`), and the values of environment variables whose
name ends in `KEY` (read when a record is logged, so keys loaded later from VLMEvalKit's `.env`
count too). A value named as a key is masked whatever its length; a short one only where it
stands as a word of its own (`zq7x9` in `'key': 'zq7x9'`, not inside `zq7x9abc`). Environment
values shorter than `ENV_MIN_LENGTH` are left alone: a variable merely ending in KEY may hold `1`.
Whatever follows `API Key:` in a message (VLMEvalKit's API wrappers log their key so) is masked too.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from .run_exit import install as install_run_exit
from .run_options import option_values

SECRET_FLAGS = ("--judge-key", "--key")
JSON_FLAGS = ("--judge-args",)
"""Flags whose value is JSON that may hold a key."""
CONFIG_FLAG = "--config"
SECRET_FIELDS = ("key", "api_key")
MASK = "***"
ENV_MIN_LENGTH = 6
"""Shorter values of environment variables ending in KEY are not secrets enough to mask everywhere."""
WORD_LENGTH = 6
"""Secrets shorter than this are masked only as a word of their own, so that ordinary text keeps its letters."""
API_KEY_LINE = re.compile(r"(API Key:\s*)(\S+)")
_added: set[str] = set()
_installed = False


def add_secret(value: str | None) -> None:
    if value:
        _added.add(value)


def json_secrets(data) -> set[str]:
    """Every string under a `key` / `api_key` field, at any depth."""
    if isinstance(data, dict):
        own = {v for k, v in data.items() if k in SECRET_FIELDS and isinstance(v, str)}
        return own.union(*(json_secrets(v) for v in data.values()))
    if isinstance(data, list):
        return set().union(*(json_secrets(v) for v in data))
    return set()


def _parsed(text: str):
    try:
        return json.loads(text)
    except ValueError:  # not JSON: nothing to find (run.py reports a bad --judge-args itself)
        return None


def _config_file(path: str):
    try:
        return _parsed(Path(path).read_text(encoding="utf-8"))
    except OSError:
        return None


def argv_secrets(argv: Iterable[str]) -> set[str]:
    """Keys on a command line: secret flags, keys inside `--judge-args` JSON and inside the `--config` file."""
    argv = list(argv)
    found = set(option_values(argv, SECRET_FLAGS))
    for value in option_values(argv, JSON_FLAGS):
        found |= json_secrets(_parsed(value))
    for path in option_values(argv, (CONFIG_FLAG,)):
        found |= json_secrets(_config_file(path))
    return found


@functools.lru_cache(maxsize=4)
def _command_line_secrets(argv: tuple[str, ...]) -> frozenset[str]:
    """`argv_secrets`, read once per command line (it may read the `--config` file)."""
    return frozenset(argv_secrets(argv))


def known_secrets() -> set[str]:
    env = {v for k, v in os.environ.items() if k.upper().endswith("KEY") and len(v) >= ENV_MIN_LENGTH}
    return {s for s in env | _command_line_secrets(tuple(sys.argv)) | _added if s}


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """`text` with every secret replaced by the mask, longest first, and the value after `API Key:` masked."""
    for secret in sorted(known_secrets() if secrets is None else secrets, key=len, reverse=True):
        if len(secret) >= WORD_LENGTH:
            text = text.replace(secret, MASK)
        elif secret in text:
            text = re.sub(rf"(?<![\w-]){re.escape(secret)}(?![\w-])", MASK, text)
    return API_KEY_LINE.sub(rf"\g<1>{MASK}", text)


def redact_argv(argv: Iterable[str]) -> list[str]:
    secrets = known_secrets() | argv_secrets(argv)
    return [redact(arg, secrets) for arg in argv]


def install() -> None:
    """Mask secrets in every log record from now on and in VLMEvalKit's recorded argv (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        secrets = known_secrets()
        if secrets:
            try:
                message = record.getMessage()
            except Exception:  # a malformed record is logging's to report, at emit time
                return record
            clean = redact(message, secrets)
            if clean != message:
                record.msg, record.args = clean, None
            if record.exc_info:  # the traceback, as the handlers would format it, masked
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info), secrets)
        return record

    logging.setLogRecordFactory(factory)
    _mask_run_status_argv()
    # After ours: its replacement messages are built from redacted text.
    install_run_exit()


def _mask_run_status_argv() -> None:
    """Wrap `upsert_run_status` where `run.py` imports it from (before `run.py` binds the name)."""
    import vlmeval.smp
    import vlmeval.smp.status_report as status_report

    original = status_report.upsert_run_status

    @functools.wraps(original)
    def upsert_run_status(run_dir, **fields):
        if isinstance(fields.get("argv"), list):
            fields["argv"] = redact_argv(fields["argv"])
        return original(run_dir, **fields)

    status_report.upsert_run_status = vlmeval.smp.upsert_run_status = upsert_run_status
