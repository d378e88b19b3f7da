"""Where a VLMEvalKit work dir keeps a model's results, in both layouts.

VLMEvalKit names result files `<model>_<dataset><suffix>` inside `WORK_DIR/<model>/`. The PyPI
wheel (ms-vlmeval) writes them there directly; GitHub main (a source checkout's `run.py`) writes
each run into a run folder `WORK_DIR/<model>/T<date>-<time>/` and links the files of the datasets
that succeeded, and `status.json`, into the model folder. A file in the model folder (or a link
there) wins; otherwise the newest run folder that holds it (by the date and time in the folder
name, then by file time).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

RUN_FOLDER = re.compile(r"^T(\d{8})(?:-(\d{6}))?")
"""VLMEvalKit's run folders: `T20261130-235959`, older `T20261130_G<git hash>`."""


def run_folders(model_dir: Path) -> list[Path]:
    """The model's run folders, newest first: by date and time of the name, then by modification time."""
    runs = [p for p in model_dir.iterdir() if p.is_dir() and RUN_FOLDER.match(p.name)]

    def newest(run: Path) -> tuple:
        date, time = RUN_FOLDER.match(run.name).groups()
        return date, time or "", run.stat().st_mtime

    return sorted(runs, key=newest, reverse=True)


def find_result(model_dir: Path, file_name: str, legacy: re.Pattern | None = None) -> Path | None:
    """The model folder's file (or link) if there is one, else the newest run folder's; in each folder
    the file of today's name, else the newest file matching `legacy` (older VLMEvalKit names)."""
    for folder in (model_dir, *run_folders(model_dir)):
        if (folder / file_name).exists():
            return folder / file_name
        older = [p for p in folder.iterdir() if legacy is not None and legacy.fullmatch(p.name)] if legacy else []
        if older:
            return max(older, key=lambda p: p.stat().st_mtime)
    return None


def model_folder_of(run_dir: str | Path) -> Path | None:
    """The model folder above `run_dir` when `run_dir` is a run folder (GitHub main's layout), else None."""
    run_dir = Path(run_dir)
    return run_dir.parent if RUN_FOLDER.match(run_dir.name) else None


def link_in_model_folder(run_dir: str | Path, names: list[str]) -> None:
    """Point the model folder's `names` at this run folder's files, as `run.py` links a success's files
    (relative links), each replaced atomically; nothing happens outside GitHub main's layout."""
    model_dir = model_folder_of(run_dir)
    if model_dir is None:
        return
    for name in names:
        target = Path(run_dir) / name
        if not target.exists():
            continue
        temporary = model_dir / f".{name}.{os.getpid()}.link"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(target.relative_to(model_dir))
        os.replace(temporary, model_dir / name)
