"""A persistent cache of judge outputs, shared by runs, models and concurrent processes.

A judgment is keyed by the SHA-256 of (judge model, full prompt text, and the system prompt
when the judge has one): identical judge inputs
are judged once, whichever model produced the answer, and a changed prompt template or judge
model never reuses an old output. The raw judge output is stored (not the parsed verdict), so
the parser can evolve without invalidating the cache. Only replies the parser can read are
stored: an HTTP failure, an empty reply or an unreadable one is asked again by the next run.

SQLite in WAL mode with a busy timeout: readers never block the writer, concurrent processes
queue for the write lock instead of failing, and each output is committed as it arrives, so a
run killed at any moment loses at most the calls in flight. Keep the file on a local disk
(SQLite's locking is unreliable on network file systems).

Claims split the work between concurrent processes: before a judgment is sent, its sender claims
it (`claim`); another process that meets the claim judges something else and comes back for it,
finding the reply in the cache. A claim ends when the reply is stored or the claimant gives up
(`release`), and lapses when its claimant has not touched it for `ttl_s` seconds (it hangs) or its
process has died, so a judgment is never stuck behind a dead claim.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

CACHE_NAME = "spy_judge_cache.sqlite"
BUSY_TIMEOUT_S = 60.0
_CHUNK = 500
"""Keys per SELECT: stays below SQLite's bound-parameter limit."""


def judgment_key(model: str, prompt: str, system_prompt: str | None = None) -> str:
    """Cache key of one judgment: what was asked (with the system prompt, if any), and of which judge model."""
    asked = [model, prompt] if system_prompt is None else [model, prompt, system_prompt]
    return hashlib.sha256(json.dumps(asked, ensure_ascii=False).encode("utf-8")).hexdigest()


class JudgeCache:
    """Thread-safe handle on the cache file; use as a context manager."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        # The busy timeout must be set before switching to WAL: another process may hold the lock.
        self._db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        self._db.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL keeps the database consistent after a crash and skips an fsync per commit.
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS judgments (key TEXT PRIMARY KEY, model TEXT NOT NULL, "
            "output TEXT NOT NULL, created REAL NOT NULL)"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, owner TEXT NOT NULL, host TEXT NOT NULL, "
            "pid INTEGER NOT NULL, expires REAL NOT NULL)"
        )
        self.owner = uuid.uuid4().hex
        """This handle's claims: a process's threads share them."""

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT output FROM judgments WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def get_many(self, keys: Iterable[str]) -> dict[str, str]:
        keys = list(keys)
        found: dict[str, str] = {}
        with self._lock:
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                found.update(self._db.execute(f"SELECT key, output FROM judgments WHERE key IN ({marks})", chunk))
        return found

    def put(self, key: str, model: str, output: str) -> None:
        """Store one output now (committed on return), ending its claim; the first writer of a key wins."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT OR IGNORE INTO judgments (key, model, output, created) VALUES (?, ?, ?, ?)",
                (key, model, output, time.time()),
            )
            self._db.execute("DELETE FROM claims WHERE key = ?", (key,))

    def claim(self, key: str, ttl_s: float) -> bool:
        """Claim a judgment for this handle for `ttl_s` seconds (again: renewed); False while another live
        process holds it or its output is stored already."""
        host, now = socket.gethostname(), time.time()
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            if self._db.execute("SELECT 1 FROM judgments WHERE key = ?", (key,)).fetchone():
                return False
            row = self._db.execute("SELECT owner, host, pid, expires FROM claims WHERE key = ?", (key,)).fetchone()
            if row is not None and row[0] != self.owner and row[3] > now and not _dead(row[1], row[2], host):
                return False
            self._db.execute(
                "INSERT OR REPLACE INTO claims (key, owner, host, pid, expires) VALUES (?, ?, ?, ?, ?)",
                (key, self.owner, host, os.getpid(), now + ttl_s),
            )
            return True

    def release(self, key: str) -> None:
        """Give up this handle's claim (the judgment failed): another process may send it."""
        with self._lock:
            self._db.execute("DELETE FROM claims WHERE key = ? AND owner = ?", (key, self.owner))

    def discard(self, keys: Iterable[str]) -> None:
        """Forget these outputs (e.g. unreadable ones stored by an older version), so they are asked again."""
        with self._lock:
            self._db.executemany("DELETE FROM judgments WHERE key = ?", [(key,) for key in keys])

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM judgments").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> JudgeCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _dead(host: str, pid: int, here: str) -> bool:
    """Whether a claimant on this host has died (one on another host lapses by its time only)."""
    if host != here:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


@dataclass
class JudgeStats:
    """What one judging pass cost, for the outputs' judge report."""

    judgments: int = 0
    """Answers that needed a verdict."""
    distinct_prompts: int = 0
    calls: int = 0
    """Judgments sent to the judge (retries of one judgment are counted in `retries`)."""
    cache_hits: int = 0
    """Distinct prompts answered from the cache (earlier runs, other models, other processes)."""
    retries: int = 0
    failed_calls: int = 0
    """Distinct prompts that still had no judge output after every retry."""
    unreadable: int = 0
    """Replies the parser could not read (empty, no verdict): exceptions, not cached."""
    not_sent: int = 0
    """Distinct prompts not sent because the circuit breaker had opened."""

    @property
    def saved(self) -> int:
        """Judge calls avoided: duplicates inside this pass plus cache hits (prompts not sent are not saved)."""
        return self.judgments - self.calls - self.not_sent

    def as_dict(self) -> dict:
        return {**asdict(self), "saved": self.saved}
