"""Which VLMEvalKit is installed, and whether SPY-Bench's tests passed on it.

Two kinds are tested (`tests/test_vlmeval_patches.py` on each, in CI):
- the PyPI wheel `ms-vlmeval`, by its version range (`TESTED_RELEASE`; setup.cfg's `harness`
  extra pins the same);
- source checkouts of VLMEvalKit's GitHub main (`python run.py`). Every checkout calls itself
  `vlmeval` 0.1.0, so one is identified by what it contains: a fingerprint of the files whose
  internals SPY-Bench relies on (`FINGERPRINT_FILES`), listed by commit in `TESTED_CHECKOUTS`.
Nothing here imports VLMEvalKit.
"""

from __future__ import annotations

import hashlib
import subprocess
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from ..common.errors import SpyDataError
from .run_command import RunPy, locate_run_py

TESTED_RELEASE = "ms-vlmeval>=0.0.20,<0.0.21"
"""The PyPI releases SPY-Bench is tested with."""
FINGERPRINT_FILES = (
    "run.py",
    "vlmeval/inference.py",
    "vlmeval/inference_api.py",
    "vlmeval/smp/status_report.py",
    "vlmeval/smp/file.py",
    "vlmeval/dataset/image_base.py",
    "vlmeval/dataset/utils/judge_util.py",
    "vlmeval/api/gpt.py",
    "vlmeval/vlm/base.py",
)
"""A checkout's files holding the internals SPY-Bench relies on (docs/architecture.md), relative to its root."""
TESTED_CHECKOUTS = {
    "e8e78f05 (2026-08-18)": "9feccf82a1738d96cef954627abde972187c1afdab1f3ecd9862f565a54c3d9b",
}
"""VLMEvalKit GitHub main snapshots the suite passed on: commit -> `checkout_fingerprint`."""


def checkout_fingerprint(root: Path) -> str:
    """sha256 over `FINGERPRINT_FILES` of a checkout (a missing file counts as empty)."""
    digest = hashlib.sha256()
    for name in FINGERPRINT_FILES:
        path = root / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"") + b"\0")
    return digest.hexdigest()


def installed_wheel() -> str | None:
    """The installed `ms-vlmeval` version, or None."""
    try:
        return metadata.version(Requirement(TESTED_RELEASE).name)
    except metadata.PackageNotFoundError:
        return None


def untested_vlmeval() -> str | None:
    """What the installed VLMEvalKit is, when SPY-Bench's tests did not pass on it; None when they did."""
    wheel = installed_wheel()
    try:
        run_py = locate_run_py()
    except SpyDataError as err:
        return str(err)
    if run_py.module:
        wanted = Requirement(TESTED_RELEASE)
        if wheel is not None and wanted.specifier.contains(wheel, prereleases=True):
            return None
        return (
            f"{wanted.name} {wheel}" if wheel else f"VLMEvalKit at {run_py.path.parent}, not installed as {wanted.name}"
        )
    fingerprint = checkout_fingerprint(run_py.path.parent)
    if fingerprint in TESTED_CHECKOUTS.values():
        return None
    return f"a VLMEvalKit checkout at {run_py.path.parent} ({commit_of(run_py.path.parent)}) unlike any tested one"


def commit_of(root: Path) -> str:
    """The checkout's git commit (when `root` is itself a git checkout), or what its fingerprint says it is."""
    try:
        lines = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--show-toplevel", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        lines = []
    if len(lines) == 2 and Path(lines[0]).resolve() == root.resolve():
        return f"commit {lines[1]}"
    fingerprint = checkout_fingerprint(root)
    tested = [commit for commit, known in TESTED_CHECKOUTS.items() if known == fingerprint]
    return f"no git metadata; its files are those of {tested[0]}" if tested else "no git metadata"


def describe(run_py: RunPy | None = None) -> str:
    """One line naming the installed VLMEvalKit: kind, version or path and commit, and how run.py starts."""
    run_py = run_py or locate_run_py()
    if run_py.module:
        return f"VLMEvalKit: ms-vlmeval {installed_wheel()} (PyPI wheel) at {run_py.path.parent}; runs as {run_py}"
    root = run_py.path.parent
    return f"VLMEvalKit: source checkout at {root} ({commit_of(root)}); runs as {run_py}"
