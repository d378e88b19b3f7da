"""The exact prompt and the image of a sample, from the dataset's own TSV (`spy-bench build`'s output).

The verdict records hold the question as written but not the prompt the model got (instructions,
distractors, scenario) nor the image; both are in `$LMUData/<dataset>.tsv`, read by `index`.
Images are referenced (`image_path` under the image root recorded beside the TSV, or `$SPY_IMAGES`)
or embedded (read at their recorded byte position, else from the `image` column). A TSV whose row
does not hold the record's item and question is not used: a prompt of another build is never shown
as the one the model got. SPY-Bench-Mini is rebuilt when missing, as a run would.
"""

from __future__ import annotations

import base64
import functools
import io
import os
from dataclasses import dataclass
from pathlib import Path

from ...bench.build import embedded_images_by_path, meta_path, read_embedded_image, read_tsv, tsv_meta
from ...bench.catalog import ensure_dataset, is_mini, read_meta, tsv_path
from ...common.errors import SpyDataError

IMAGES_ENV = "SPY_IMAGES"
THUMBNAIL_PX = 256


@dataclass(frozen=True)
class Prompt:
    """What the model got for one sample; `problem` says why it is unavailable (then the rest is empty)."""

    prompt: str = ""
    image_path: str = ""
    problem: str = ""


class DatasetFiles:
    """One dataset's TSV, loaded on first use."""

    def __init__(self, root: Path, name: str):
        self.root, self.name = root, name
        self._rows: dict[int, dict] | None = None
        self._meta: dict = {}
        self._problem = ""
        self._embedded: dict[str, str] | None = None

    def _load(self) -> None:
        if self._rows is not None:
            return
        self._rows = {}
        path = tsv_path(self.root, self.name)
        try:
            if is_mini(self.name):
                path, self._meta = ensure_dataset(self.root, self.name)
            elif not path.exists():
                self._problem = f"{path} not found (pass --data-root or set $LMUData to the folder of the run's TSVs)"
                return
            else:
                self._meta = read_meta(path) if meta_path(path).exists() else tsv_meta(path)
            frame = read_tsv(path)
        except (SpyDataError, OSError, ValueError, KeyError) as err:
            self._problem = f"{path} cannot be read: {err}"
            return
        self.path = path
        columns = ["index", "benchmark_id", "raw_question", "question", "image_path"]
        self._rows = {int(row[0]): dict(zip(columns[1:], row[1:], strict=True)) for row in frame[columns].to_numpy()}

    def prompt(self, index: int, benchmark_id: str, question: str) -> Prompt:
        """The prompt and image of sample `index`, checked against the record's item and question."""
        self._load()
        if self._problem:
            return Prompt(problem=self._problem)
        row = self._rows.get(index)
        if row is None:
            return Prompt(problem=f"{self.path}: no sample with index {index} (the results are of another build)")
        if row["benchmark_id"] != benchmark_id or row["raw_question"] != question:
            return Prompt(
                problem=f"{self.path}: index {index} holds item {row['benchmark_id']}, not {benchmark_id} with this "
                "question (the results are of another build)"
            )
        return Prompt(row["question"], row["image_path"])

    def image(self, image_path: str) -> bytes:
        """The original bytes of an image of this dataset."""
        self._load()
        if self._problem:
            raise FileNotFoundError(self._problem)
        if not self._meta.get("embedded_images"):
            root = os.environ.get(IMAGES_ENV) or self._meta.get("images_root") or ""
            return (Path(root) / image_path).read_bytes()
        if image_path in self._meta.get("image_offsets", {}):
            offset, length = self._meta["image_offsets"][image_path]
            return read_embedded_image(self.path, offset, length)
        if self._embedded is None:
            self._embedded = embedded_images_by_path(self.path)
        return base64.b64decode(self._embedded[image_path])


class Images:
    """Prompts, images and thumbnails of every dataset the results name."""

    def __init__(self, root: Path):
        self.root = root
        self._datasets: dict[str, DatasetFiles] = {}

    def dataset(self, name: str) -> DatasetFiles:
        if name not in self._datasets:
            self._datasets[name] = DatasetFiles(self.root, name)
        return self._datasets[name]

    @functools.lru_cache(maxsize=512)  # noqa: B019  (one Images per viewer, kept for its lifetime)
    def thumbnail(self, dataset: str, image_path: str) -> bytes:
        """A JPEG at most THUMBNAIL_PX on its longer side."""
        from PIL import Image

        with Image.open(io.BytesIO(self.dataset(dataset).image(image_path))) as img:
            img.draft("RGB", (THUMBNAIL_PX, THUMBNAIL_PX))
            small = img.convert("RGB")
            small.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            out = io.BytesIO()
            small.save(out, "JPEG", quality=85)
            return out.getvalue()
