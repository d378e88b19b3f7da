"""The parsed sample table of each result, kept between starts of the viewer.

Reading a full result's `_verdicts.jsonl` (32,700 records) through `records` takes about a second of
Python; twenty of them dominate the viewer's start. Each result's table (with its notes) is pickled
under the cache folder, keyed by the verdicts and metrics files' path, size and modification time,
and by `VERSION`: any change to those files, or to how tables are built, reads them again. One entry
is kept per verdicts file. The cache only ever saves time: an entry that cannot be read or written
is ignored (the files are read instead).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import warnings
from pathlib import Path

import pandas as pd

from ...common.atomic import atomic_open

VERSION = 2
"""Bump when `samples.read_samples` or the notes change what a cached table holds."""


def default_folder() -> Path:
    """`$XDG_CACHE_HOME/spy-bench/viewer` (`~/.cache/spy-bench/viewer`)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "spy-bench" / "viewer"


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


class SampleCache:
    def __init__(self, folder: Path | None):
        self.folder = folder
        """None: no cache."""

    def _entry(self, verdicts: Path, metrics: Path | None) -> tuple[str, Path]:
        stamps = [VERSION]
        for path in (verdicts, metrics):
            stat = path.stat() if path else None
            stamps.append((str(path.resolve()), stat.st_size, stat.st_mtime_ns) if stat else None)
        prefix = _digest(str(verdicts.resolve()))
        return prefix, self.folder / f"{prefix}-{_digest(repr(stamps))}.pkl"

    def get(self, verdicts: Path, metrics: Path | None) -> tuple[pd.DataFrame, list[str]] | None:
        if self.folder is None:
            return None
        try:
            with self._entry(verdicts, metrics)[1].open("rb") as fh:
                return pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return None

    def put(self, verdicts: Path, metrics: Path | None, value: tuple[pd.DataFrame, list[str]]) -> None:
        if self.folder is None:
            return
        try:
            prefix, path = self._entry(verdicts, metrics)
            with atomic_open(path, "wb") as fh:
                pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
            for older in self.folder.glob(f"{prefix}-*.pkl"):
                if older != path:
                    older.unlink(missing_ok=True)
        except OSError as err:
            warnings.warn(f"spy-bench view: cannot cache samples in {self.folder} ({err})", stacklevel=2)
