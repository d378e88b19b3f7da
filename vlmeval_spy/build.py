"""Turn a release (questions + label texts + images) into VLMEvalKit TSV datasets.

Two settings are written in one pass: `SPY-Bench` (distractor instructions, the paper's setting
for open models) and `SPY-Bench-ND` (the asked attribute only). Rows carry every field the
metrics and reports need. Images are either referenced (`image_path` relative to an image root
recorded beside the TSV) or embedded once as base64, later rows pointing at the first row that
holds the same image (VLMEvalKit's shared-image convention).
"""

from __future__ import annotations

import base64
import csv
import hashlib
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_open, write_json
from .constants import EXPANSION_VERSION
from .errors import Problem, SpyDataError
from .expansion import Sample, expand_item
from .prompts import render_prompt
from .release import Item

SETTINGS: dict[str, bool] = {"": True, "-ND": False}
"""Dataset-name suffix -> whether the prompts carry distractor instructions."""

COLUMNS = (
    "index", "image", "image_path", "question", "benchmark_id", "question_id", "label", "attribute",
    "is_privacy", "scenario", "scenario_privacy", "raw_question", "gt", "setting", "expansion_version",
)
META_SUFFIX = ".meta.json"


@dataclass(frozen=True)
class BuildReport:
    """What a build wrote."""

    tsv_paths: tuple[Path, ...]
    items: int
    samples: int
    images: int


def meta_path(tsv: Path) -> Path:
    """Sidecar with the provenance of a built TSV."""
    return tsv.with_name(tsv.name + META_SUFFIX)


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_images(items: Sequence[Item], images_root: Path, file: str) -> list[Problem]:
    """Every distinct image must exist and be readable as an image (header check, fast)."""
    from PIL import Image, UnidentifiedImageError

    problems = []
    checked: dict[str, str | None] = {}
    for item in items:
        if item.image_path not in checked:
            path = images_root / item.image_path
            try:
                with Image.open(path) as img:
                    img.verify()
                checked[item.image_path] = None
            except FileNotFoundError:
                checked[item.image_path] = f"image file not found: {path}"
            except (UnidentifiedImageError, OSError, SyntaxError) as err:
                checked[item.image_path] = f"image cannot be decoded: {path} ({err})"
        if checked[item.image_path]:
            problems.append(Problem(file, checked[item.image_path], item.benchmark_id, "question_item.image_path"))
    return problems


def sample_row(index: int, sample: Sample, distractors: bool) -> dict:
    """One TSV row (without the image columns)."""
    item = sample.item
    return {
        "index": index,
        "question": render_prompt(sample, distractors),
        "benchmark_id": item.benchmark_id,
        "question_id": item.question_id,
        "label": item.label,
        "attribute": item.text(item.label),
        "is_privacy": sample.is_privacy,
        "scenario": sample.scenario.id if sample.scenario else "",
        "scenario_privacy": "" if sample.scenario_privacy is None else sample.scenario_privacy,
        "raw_question": item.question,
        "gt": item.gt,
        "setting": "distractors" if distractors else "no-distractors",
        "expansion_version": EXPANSION_VERSION,
    }


def iter_samples(items: Sequence[Item]) -> Iterator[tuple[int, Sample]]:
    index = 0
    for item in items:
        for sample in expand_item(item):
            yield index, sample
            index += 1


def write_datasets(
    items: Sequence[Item],
    images_root: Path,
    out_dir: Path,
    name: str = "SPY-Bench",
    embed: bool = False,
    sources: Sequence[Path] = (),
    progress: bool = False,
) -> BuildReport:
    """Write `<name>.tsv` and `<name>-ND.tsv` atomically, with their provenance sidecars."""
    out_dir.mkdir(parents=True, exist_ok=True)
    targets = [out_dir / f"{name}{suffix}.tsv" for suffix in SETTINGS]
    first_row_of: dict[str, int] = {}
    with ExitStack() as stack:
        # VLMEvalKit drops rows whose `image` is empty, so reference TSVs have no such column.
        columns = COLUMNS if embed else tuple(c for c in COLUMNS if c != "image")
        handles = [stack.enter_context(atomic_open(path)) for path in targets]
        writers = [csv.DictWriter(h, columns, delimiter="\t", lineterminator="\n") for h in handles]
        for writer in writers:
            writer.writeheader()
        samples = iter_samples(items)
        if progress:
            from tqdm import tqdm

            samples = tqdm(samples, desc=f"building {name}", unit="sample", total=sum(2 + len(i.non_privacy_scenarios) + 2 * len(i.privacy_scenarios) for i in items))
        count = 0
        for index, sample in samples:
            image = _image_columns(index, sample.item.image_path, images_root, embed, first_row_of)
            for writer, distractors in zip(writers, SETTINGS.values()):
                writer.writerow({**sample_row(index, sample, distractors), **image})
            count += 1
    meta = {
        "expansion_version": EXPANSION_VERSION,
        "embedded_images": embed,
        "images_root": "" if embed else str(images_root.resolve()),
        "inputs": {str(p): file_md5(p) for p in sources},
        "items": len(items),
        "samples": count,
    }
    for path, distractors in zip(targets, SETTINGS.values()):
        write_json(meta_path(path), {**meta, "distractors": distractors, "tsv_md5": file_md5(path)})
    return BuildReport(tuple(targets), len(items), count, len(first_row_of))


def _image_columns(index: int, image_path: str, root: Path, embed: bool, first_row_of: dict[str, int]) -> dict:
    if not embed:
        first_row_of.setdefault(image_path, index)
        return {"image_path": image_path}
    if image_path in first_row_of:
        return {"image": str(first_row_of[image_path]), "image_path": image_path}
    first_row_of[image_path] = index
    return {"image": base64.b64encode((root / image_path).read_bytes()).decode("ascii"), "image_path": image_path}


def validate_release(items: Sequence[Item], images_root: Path, file: str) -> None:
    """Raise SpyDataError if any image is missing or unreadable."""
    problems = check_images(items, images_root, file)
    if problems:
        raise SpyDataError(problems)


def read_tsv(path: Path):
    """Load a built TSV keeping ids and texts as written (no "00123" -> 123, no "None" -> NaN)."""
    import pandas as pd

    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    for column in ("index", "is_privacy"):
        frame[column] = frame[column].astype(int)
    return frame
