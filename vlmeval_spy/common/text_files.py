"""Reading a user's text file: every way it can fail is a `SpyDataError` that names the file and, for bytes
that are not UTF-8, the line and the byte, so every command reports bad bytes the same way."""

from __future__ import annotations

from pathlib import Path

from .errors import Problem, SpyDataError


def not_utf8(file: str, data: bytes, err: UnicodeDecodeError) -> Problem:
    """The problem of bytes that are not UTF-8: where (line, byte offset), and what to do."""
    line = data.count(b"\n", 0, err.start) + 1
    where = f"byte 0x{data[err.start]:02x} at offset {err.start}, line {line}"
    return Problem(file, f"not UTF-8 text ({where}); save it as UTF-8")


def read_utf8(path: str | Path) -> str:
    """The file's text; a missing, unreadable or non-UTF-8 file raises SpyDataError naming it."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SpyDataError([Problem(str(path), "file not found")]) from None
    except OSError as err:
        raise SpyDataError([Problem(str(path), f"cannot be read: {err.strerror or err}")]) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SpyDataError([not_utf8(str(path), data, err)]) from None
