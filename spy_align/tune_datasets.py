"""SPY-Tune files as `datasets.Dataset`s in TRL's conversational vision formats.

- SFT: `prompt` / `completion` (TRL trains on the completion tokens only);
- preference (DPO, NCA): `prompt` / `chosen` / `rejected`;
- polarity pairs (NCA-P): `prompt_0` / `chosen_0` / `rejected_0` (non-private instructions) and
  the same with `_1` (private instructions), on one image.

Every dataset has an `images` column (one image per row, decoded lazily from its path) and the
provenance columns `benchmark_id`, `attribute` (the item's label; `label` means something else to
TRL), `case`, `scenario` (+ `polarity` when unpaired).
Files are validated completely, images included, before any row is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from datasets import Dataset, Image, List

from vlmeval_spy.bench.build import check_images
from vlmeval_spy.bench.release import Item, load_label2text, load_release, parse_release, read_json
from vlmeval_spy.common.errors import Problem, SpyDataError

from .columns import PAIR_SUFFIXES
from .tune_examples import TuneTurn, polarity_pairs, preference_turns


def load_tune_items(
    data_file: str | Path, images_root: str | Path, label2text_file: str | Path | None = None
) -> list[Item]:
    """Read and validate a SPY-Tune file (`train_data.json` / `eval_data.json`) and check its images.

    Raises `SpyDataError` listing every problem (file, item, field) at once.
    """
    return load_tune_files([data_file], images_root, label2text_file)[0]


def load_tune_files(
    data_files: Sequence[str | Path], images_root: str | Path, label2text_file: str | Path | None = None
) -> list[list[Item]]:
    """Read and validate several SPY-Tune files (training, evaluation) with the label texts and images.

    Raises one `SpyDataError` listing every problem of every file: malformed JSON, bad fields,
    missing or unreadable images (of the items that are otherwise valid), in file order.
    """
    problems: list[Problem] = []
    label2text, texts_failed = None, False
    if label2text_file:
        try:
            label2text = load_label2text(label2text_file)
        except SpyDataError as err:
            problems += err.problems
            texts_failed = True
    root = Path(images_root)
    if not root.is_dir():
        problems.append(Problem(str(images_root), "images folder not found (--images_root)"))
    loaded = []
    for data_file in data_files:
        items, found = _checked_items(data_file, root, label2text)
        # Without readable label texts every attribute looks unknown: those follow from the problem above.
        problems += [p for p in found if not (texts_failed and p.message.endswith(_UNKNOWN))]
        loaded.append(items)
    if problems:
        raise SpyDataError(problems)
    return loaded


_UNKNOWN = "(not in label2text)"


def _checked_items(
    data_file: str | Path, root: Path, label2text: dict[str, str] | None
) -> tuple[list[Item], list[Problem]]:
    """The file's valid items and its problems, images included."""
    try:
        items, problems = load_release(data_file, label2text, kind="tune"), []
    except SpyDataError as err:
        items, problems = _valid_items(data_file, label2text), list(err.problems)
    if root.is_dir():
        problems += check_images(items, root, str(data_file))
    return items, problems


def _valid_items(data_file: str | Path, label2text: dict[str, str] | None) -> list[Item]:
    """The items of a file with problems that are valid on their own (their images are still worth checking)."""
    try:
        entries = read_json(data_file).get("data_list")
    except (SpyDataError, AttributeError):
        return []
    items = []
    for raw in entries if isinstance(entries, list) else []:
        try:
            items += parse_release({"data_list": [raw]}, str(data_file), label2text or {}, kind="tune")
        except SpyDataError:
            continue
    return items


def sft_dataset(items: Sequence[Item], images_root: str | Path, distractors: bool = True) -> Dataset:
    """One conversation per SFT example: the prompt and the target answer."""
    return _build(
        items,
        images_root,
        distractors,
        lambda item, d: [
            {
                **_common(turn),
                "polarity": turn.polarity,
                "prompt": _user(turn.prompt),
                "completion": _assistant(turn.chosen),
            }
            for turn in preference_turns(item, d)
        ],
    )


def preference_dataset(items: Sequence[Item], images_root: str | Path, distractors: bool = True) -> Dataset:
    """One preference pair per DPO / NCA example: target answer chosen, the other rejected."""
    return _build(
        items,
        images_root,
        distractors,
        lambda item, d: [
            {**_common(turn), "polarity": turn.polarity, **_preference(turn, "")} for turn in preference_turns(item, d)
        ],
    )


def paired_dataset(items: Sequence[Item], images_root: str | Path, distractors: bool = True) -> Dataset:
    """One NCA-P example per (item, question): the non-private and the private preference pair."""
    return _build(
        items,
        images_root,
        distractors,
        lambda item, d: [
            {**_common(turn_0), **_preference(turn_0, PAIR_SUFFIXES[0]), **_preference(turn_1, PAIR_SUFFIXES[1])}
            for turn_0, turn_1 in polarity_pairs(item, d)
        ],
    )


def _build(
    items: Sequence[Item],
    images_root: str | Path,
    distractors: bool,
    rows_of: Callable[[Item, bool], list[dict[str, Any]]],
) -> Dataset:
    root = Path(images_root).resolve()
    rows = [{"images": [str(root / item.image_path)], **row} for item in items for row in rows_of(item, distractors)]
    if not rows:
        raise ValueError("no SPY-Tune items to build a dataset from")
    return Dataset.from_list(rows).cast_column("images", List(Image()))


def _common(turn: TuneTurn) -> dict[str, Any]:
    return {"benchmark_id": turn.benchmark_id, "attribute": turn.label, "case": turn.case, "scenario": turn.scenario}


def _preference(turn: TuneTurn, suffix: str) -> dict[str, Any]:
    return {
        f"prompt{suffix}": _user(turn.prompt),
        f"chosen{suffix}": _assistant(turn.chosen),
        f"rejected{suffix}": _assistant(turn.rejected),
    }


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def _assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]
