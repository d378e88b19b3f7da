"""The SPY-Bench datasets VLMEvalKit can run, and where their TSVs come from."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..common.errors import Problem, SpyDataError
from .build import SETTINGS, meta_path, tsv_meta, write_datasets
from .constants import EXPANSION_VERSION
from .release import load_label2text, load_release, read_json

FULL = "SPY-Bench"
MINI = "SPY-Bench-Mini"
DATASETS: dict[str, bool] = {
    f"{base}{suffix}": distractors for base in (FULL, MINI) for suffix, distractors in SETTINGS.items()
}
"""Dataset name -> whether its prompts carry distractor instructions."""


def is_spy_dataset(name: object) -> bool:
    """Whether VLMEvalKit's dataset `name` is one of SPY-Bench's (the one test every harness patch uses)."""
    return isinstance(name, str) and name in DATASETS


def is_mini(name: str) -> bool:
    return name.startswith(MINI)


def tsv_path(root: Path, name: str) -> Path:
    return root / f"{name}.tsv"


def read_meta(tsv: Path) -> dict:
    """Provenance of a built TSV; refuses TSVs built by another expansion version."""
    meta_file = meta_path(tsv)
    if not meta_file.exists():
        raise SpyDataError(
            [Problem(str(tsv), f"provenance file {meta_file.name} is missing; rebuild with `spy-bench build`")]
        )
    return check_version(tsv, read_json(meta_file))


def check_version(tsv: Path, meta: dict) -> dict:
    """`meta`, unless the TSV was built by another expansion version."""
    version = meta.get("expansion_version") if isinstance(meta, dict) else None
    if version != EXPANSION_VERSION:
        raise SpyDataError(
            [
                Problem(
                    str(tsv),
                    f"built with expansion version {version}, this code uses "
                    f"{EXPANSION_VERSION}; rebuild it with `spy-bench build`",
                )
            ]
        )
    return meta


def build_mini(root: Path) -> None:
    """Render the bundled mini benchmark's images and write its two TSVs (images embedded)."""
    from . import mini

    items = load_release(mini.QUESTIONS_PATH, load_label2text(mini.LABEL2TEXT_PATH))
    with tempfile.TemporaryDirectory() as images:
        mini.write_images(Path(images))
        write_datasets(items, Path(images), root, MINI, embed=True, sources=(mini.QUESTIONS_PATH, mini.LABEL2TEXT_PATH))


def is_current(tsv: Path) -> bool:
    """Whether a usable build of `tsv` is on disk: the TSV itself and provenance of this code's version."""
    try:
        read_meta(tsv)
    except SpyDataError:
        return False
    return tsv.exists()


def ensure_dataset(root: Path, name: str) -> tuple[Path, dict]:
    """The TSV of `name` and its provenance; the mini benchmark is (re)built when needed."""
    path = tsv_path(root, name)
    if is_mini(name) and not is_current(path):
        build_mini(root)
    if not path.exists():
        raise SpyDataError(
            [
                Problem(
                    str(path),
                    (
                        f"dataset {name} is not built; run `spy-bench build --questions questions.json "
                        "--label2text label2text.json --images IMAGE_ROOT` (see README)"
                    ),
                )
            ]
        )
    if not meta_path(path).exists():
        # A TSV handed over alone still loads: what the sidecar adds is provenance and image positions.
        return path, check_version(path, tsv_meta(path))
    return path, read_meta(path)
