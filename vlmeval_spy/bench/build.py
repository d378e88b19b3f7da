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
import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from ..common.atomic import atomic_open, write_json
from ..common.errors import Problem
from .constants import EXPANSION_VERSION
from .expansion import Sample, expand_item
from .prompts import render_prompt
from .release import Item

SETTINGS: dict[str, bool] = {"": True, "-ND": False}
"""Dataset-name suffix -> whether the prompts carry distractor instructions."""
SETTING_NAMES = {True: "distractors", False: "no-distractors"}

METADATA_COLUMNS = (
    "benchmark_id",
    "question_id",
    "label",
    "attribute",
    "is_privacy",
    "scenario",
    "scenario_privacy",
    "raw_question",
    "gt",
    "expansion_version",
)
META_SUFFIX = ".meta.json"


@dataclass(frozen=True)
class BuildReport:
    """What a build wrote."""

    tsv_paths: tuple[Path, ...]
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


def image_problem(path: Path) -> str | None:
    """Why an image cannot be used, or None. Decodes it whole, so a truncated file is caught here and
    not at inference; JPEGs decode at 1/8 scale (every scan is still read) to keep this cheap."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            if img.format == "JPEG":
                img.draft("RGB", (max(1, img.width // 8), max(1, img.height // 8)))
            img.load()
    except FileNotFoundError:
        return f"image file not found: {path}"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        return f"image cannot be decoded: {path} ({err})"
    return None


def check_images(items: Sequence[Item], images_root: Path, file: str) -> list[Problem]:
    """Every distinct image must exist and decode; checked in parallel (Pillow decodes without the GIL)."""
    return check_image_paths({item.benchmark_id: item.image_path for item in items}, images_root, file)


def check_image_paths(images: Mapping[str, str], images_root: Path, file: str) -> list[Problem]:
    """`check_images` for item name -> image_path (also of items with other problems)."""
    distinct = list(dict.fromkeys(images.values()))
    with ThreadPoolExecutor(max_workers=min(8, 2 * (os.cpu_count() or 1))) as pool:
        found = dict(zip(distinct, pool.map(lambda p: image_problem(images_root / p), distinct), strict=True))
    return [
        Problem(file, found[path], name, "question_item.image_path") for name, path in images.items() if found[path]
    ]


def sample_metadata(sample: Sample) -> list:
    """The row cells both settings share, in `METADATA_COLUMNS` order."""
    item = sample.item
    return [
        item.benchmark_id,
        item.question_id,
        item.label,
        item.text(item.label),
        sample.is_privacy,
        sample.scenario.id if sample.scenario else "",
        "" if sample.scenario_privacy is None else sample.scenario_privacy,
        item.question,
        item.gt,
        EXPANSION_VERSION,
    ]


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
    # VLMEvalKit drops rows whose `image` is empty, so reference TSVs have no such column.
    header = ["index", *(["image"] if embed else []), "image_path", "question", *METADATA_COLUMNS, "setting"]
    first_row_of: dict[str, int] = {}
    offsets: list[dict[str, list[int]]] = [{} for _ in targets]
    count = 0
    with ExitStack() as stack:
        handles = [stack.enter_context(atomic_open(path)) for path in targets]
        writers = [csv.writer(h, delimiter="\t", lineterminator="\n") for h in handles]
        for writer in writers:
            writer.writerow(header)
        samples = iter_samples(items)
        if progress:
            from tqdm import tqdm

            total = sum(2 + len(i.non_privacy_scenarios) + 2 * len(i.privacy_scenarios) for i in items)
            samples = tqdm(samples, desc=f"building {name}", unit="sample", total=total, mininterval=0.5)
        for index, sample in samples:
            image_path = sample.item.image_path
            holds_image = embed and image_path not in first_row_of
            cells = _image_cells(index, image_path, images_root, embed, first_row_of)
            metadata = sample_metadata(sample)
            for handle, writer, distractors, where in zip(handles, writers, SETTINGS.values(), offsets, strict=True):
                # `index` and `image` never need quoting; the csv module is ~30x slower than a
                # plain write on 100 KB base64 cells, so they are written directly.
                handle.write(f"{index}\t")
                if holds_image:
                    where[image_path] = [handle.tell(), len(cells[0])]
                handle.write("".join(f"{cell}\t" for cell in cells))
                writer.writerow([image_path, render_prompt(sample, distractors), *metadata, SETTING_NAMES[distractors]])
            count += 1
    meta = {
        "expansion_version": EXPANSION_VERSION,
        "embedded_images": embed,
        "images_root": "" if embed else str(images_root.resolve()),
        "inputs": {str(p): file_md5(p) for p in sources},
        "items": len(items),
        "samples": count,
    }
    for path, distractors, where in zip(targets, SETTINGS.values(), offsets, strict=True):
        # Byte offset and length of each image's base64 cell: loaders read one image on demand
        # instead of parsing a GB-sized column.
        extra = {"image_offsets": where} if embed else {}
        write_json(meta_path(path), {**meta, "distractors": distractors, **extra})
    return BuildReport(tuple(targets), count, len(first_row_of))


def _image_cells(index: int, image_path: str, root: Path, embed: bool, first_row_of: dict[str, int]) -> list[str]:
    """`[]`, or `[base64]` / `[index of the row holding it]` when embedding."""
    if not embed:
        first_row_of.setdefault(image_path, index)
        return []
    if image_path in first_row_of:
        return [str(first_row_of[image_path])]
    first_row_of[image_path] = index
    return [base64.b64encode((root / image_path).read_bytes()).decode("ascii")]


def read_tsv(path: Path):
    """Load a built TSV without its `image` column (see `read_embedded_image`), keeping ids and
    texts as written (no "00123" -> 123, no "None" -> NaN)."""
    import pandas as pd

    with path.open(encoding="utf-8") as fh:
        columns = [c for c in fh.readline().rstrip("\n").split("\t") if c != "image"]
    frame = pd.read_csv(path, sep="\t", dtype=object, keep_default_na=False, low_memory=False, usecols=columns)
    for column in ("index", "is_privacy"):
        frame[column] = frame[column].astype(int)
    return frame


def embedded_images_by_path(tsv: Path) -> dict[str, str]:
    """image_path -> base64 of a TSV's `image` column (VLMEvalKit's convention: a cell holds the image,
    or the index of the row that holds it). For TSVs without their sidecar's recorded positions:
    this parses the whole column, so it is slower and holds every image in memory."""
    import pandas as pd

    frame = pd.read_csv(tsv, sep="\t", dtype=str, keep_default_na=False, usecols=["index", "image", "image_path"])
    by_index = dict(zip(frame["index"], frame["image"], strict=True))
    return {
        path: by_index.get(cell, cell) if len(cell) <= 64 else cell
        for path, cell in zip(frame["image_path"], frame["image"], strict=True)
    }


def tsv_meta(tsv: Path) -> dict:
    """What a built TSV says about itself when its `.meta.json` sidecar is missing (`read_meta`'s fallback)."""
    import pandas as pd

    first = pd.read_csv(tsv, sep="\t", dtype=str, keep_default_na=False, nrows=1)
    return {
        "expansion_version": int(first["expansion_version"].iloc[0])
        if "expansion_version" in first and len(first)
        else None,
        "embedded_images": "image" in first.columns,
        "images_root": "",
    }


def read_embedded_image(tsv: Path, offset: int, length: int) -> bytes:
    """The original bytes of an image embedded in a TSV, from its recorded cell position."""
    with tsv.open("rb") as fh:
        fh.seek(offset)
        return base64.b64decode(fh.read(length))
