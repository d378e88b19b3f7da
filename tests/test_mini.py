"""SPY-Bench-Mini: the bundled json files agree with each other and with the drawn pictures."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from conftest import FIXTURE_RELEASE
from vlmeval_spy.bench.build import meta_path
from vlmeval_spy.bench.catalog import ensure_dataset, tsv_path
from vlmeval_spy.bench.constants import EXPANSION_VERSION
from vlmeval_spy.bench.mini import LABEL2TEXT_PATH, QUESTIONS_PATH, SCENARIOS_PATH, write_images
from vlmeval_spy.bench.mini.images import IMAGE_STEMS, render
from vlmeval_spy.common.errors import SpyDataError

ABSOLUTE = {"a12_semi_nudity", "a13_full_nudity", "a29_ausweis", "a31_passport", "a32_drivers_license"}
TEMPLATE_KEYS = ("2nd_person_template", "3rd_person_template")

ITEMS: list[dict] = json.loads(QUESTIONS_PATH.read_text())["benchmark_list"]
LABEL2TEXT: dict[str, str] = json.loads(LABEL2TEXT_PATH.read_text())
SCENARIOS: dict[str, dict] = json.loads(SCENARIOS_PATH.read_text())


def number(attribute: str) -> int:
    return int(attribute.split("_", 1)[0][1:])


def attributes(item: dict) -> set[str]:
    return {item["label"], *item["other_labels"]}


def scenarios(item: dict) -> Iterator[tuple[str, dict]]:
    for kind in ("non_privacy_scenarios", "privacy_scenarios"):
        for scenario in item[kind]:
            yield kind, scenario


def one_slot(template: str) -> bool:
    return template.count("{") == template.count("}") == template.count("{}") == 1


def test_size_and_coverage():
    labels = {item["label"] for item in ITEMS}
    assert len(ITEMS) >= 14
    assert len(labels) >= 9
    assert sum(item["label"] in ABSOLUTE for item in ITEMS) >= 3


def test_ids_are_unique():
    assert len({item["benchmark_id"] for item in ITEMS}) == len(ITEMS)
    assert len({item["question_item"]["question_id"] for item in ITEMS}) == len(ITEMS)


def test_question_items_are_complete():
    for item in ITEMS:
        question = item["question_item"]
        assert set(question) == {"question_id", "image_path", "question", "gt"}
        assert question["question"].endswith("?") and question["gt"]


def test_other_labels_cover_both_paths():
    with_own = 0
    for item in ITEMS:
        others = item["other_labels"]
        distractors = [key for key in others if key != item["label"]]
        assert 3 <= len(distractors) <= 5, item["benchmark_id"]
        assert set(others.values()) <= {0, 1}
        if item["label"] in others:
            with_own += 1
            # The code must keep the label's position, so it sits strictly inside the mapping.
            assert 0 < list(others).index(item["label"]) < len(others) - 1, item["benchmark_id"]
    assert 0 < with_own < len(ITEMS)


def test_each_item_has_one_scenario_of_each_kind():
    for item in ITEMS:
        assert len(item["non_privacy_scenarios"]) == 1 and len(item["privacy_scenarios"]) == 1
        for _, scenario in scenarios(item):
            assert all(one_slot(scenario[key]) for key in TEMPLATE_KEYS), scenario["scenario"]


def test_label2text_covers_every_attribute_in_order():
    used = set().union(*(attributes(item) for item in ITEMS))
    assert used <= set(LABEL2TEXT)
    assert list(LABEL2TEXT) == sorted(LABEL2TEXT, key=number)
    assert all(text.strip() for text in LABEL2TEXT.values())


def test_per_item_overrides():
    overridden = [item for item in ITEMS if "label2text" in item]
    templated = [item for item in ITEMS if "instruct_templates" in item]
    assert len(overridden) == 1 and len(templated) == 1
    assert overridden[0] is not templated[0]
    assert attributes(overridden[0]) <= set(overridden[0]["label2text"])
    pair = templated[0]["instruct_templates"]
    assert len(pair) == 2 and all(one_slot(template) for template in pair)


def test_scenarios_file_matches_items():
    used = {scenario["scenario"] for item in ITEMS for _, scenario in scenarios(item)}
    assert 6 <= len(used) <= 10
    assert set(SCENARIOS) == used
    for item in ITEMS:
        for kind, scenario in scenarios(item):
            entry = SCENARIOS[scenario["scenario"]]
            assert all(entry[key] == scenario[key] for key in TEMPLATE_KEYS), scenario["scenario"]
            legitimate = item["label"] in entry["labels"]
            assert legitimate == (kind == "non_privacy_scenarios"), (item["benchmark_id"], scenario["scenario"])


def test_scenario_entries_are_well_formed():
    for key, entry in SCENARIOS.items():
        assert entry["scenario"] == key
        assert entry["type"] in {"work", "life"}
        assert entry["name"] and entry["description"]
        assert set(entry["labels"]) <= set(LABEL2TEXT)
        assert entry["labels"] == sorted(entry["labels"], key=number)


def test_every_image_path_has_a_renderer_and_back():
    stems = set()
    for item in ITEMS:
        path = Path(item["question_item"]["image_path"])
        assert path.parent == Path("images/mini") and path.suffix == ".png"
        stems.add(path.stem)
    assert stems == set(IMAGE_STEMS)
    assert len(IMAGE_STEMS) >= 12


@pytest.mark.parametrize("stem", IMAGE_STEMS)
def test_render_is_deterministic(stem: str):
    first, second = render(stem), render(stem)
    assert first.mode == "RGB"
    assert 440 <= first.width <= 640 and 300 <= first.height <= 420
    assert first.tobytes() == second.tobytes()


def test_unknown_stem_raises_key_error():
    with pytest.raises(KeyError, match="no_such_picture"):
        render("no_such_picture")


def test_write_images_is_idempotent(tmp_path: Path):
    paths = write_images(tmp_path)
    assert paths == [tmp_path / "images" / "mini" / f"{stem}.png" for stem in IMAGE_STEMS]
    for path in paths:
        with Image.open(path) as image:
            assert image.mode == "RGB"
    stamps = {path: path.stat().st_mtime_ns for path in paths}
    assert write_images(tmp_path) == paths
    assert {path: path.stat().st_mtime_ns for path in paths} == stamps
    assert sorted(p.name for p in paths[0].parent.iterdir()) == sorted(p.name for p in paths)


def strings(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from strings(value)


def runs(text: str, size: int = 8) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def test_no_text_is_copied_from_the_release(upstream: Path):
    """Neither the mini benchmark nor the test fixtures share an 8-word run with the release."""
    theirs = set().union(
        *(runs(text) for file in upstream.glob("*.json") for text in strings(json.loads(file.read_text())))
    )
    for path in (QUESTIONS_PATH, LABEL2TEXT_PATH, SCENARIOS_PATH, *sorted(FIXTURE_RELEASE.glob("*.json"))):
        ours = set().union(*(runs(text) for text in strings(json.loads(path.read_text()))))
        assert not ours & theirs, path.name


def test_the_mini_dataset_is_rebuilt_when_its_tsv_or_provenance_is_gone_or_broken(tmp_path: Path):
    tsv = tsv_path(tmp_path, "SPY-Bench-Mini")
    ensure_dataset(tmp_path, "SPY-Bench-Mini")
    built = tsv.read_bytes()
    tsv.unlink()  # provenance left behind
    path, meta = ensure_dataset(tmp_path, "SPY-Bench-Mini")
    assert path == tsv and tsv.read_bytes() == built and meta["expansion_version"] == EXPANSION_VERSION
    meta_path(tsv).write_text("{")
    assert ensure_dataset(tmp_path, "SPY-Bench-Mini")[1] == meta


def test_a_broken_provenance_file_of_a_user_build_is_a_clean_error(tmp_path: Path):
    tsv = tsv_path(tmp_path, "SPY-Bench")
    tsv.write_text("index\n")
    meta_path(tsv).write_text("[1, 2")
    with pytest.raises(SpyDataError, match="malformed JSON"):
        ensure_dataset(tmp_path, "SPY-Bench")
    meta_path(tsv).write_text("[]")
    with pytest.raises(SpyDataError, match="built with expansion version None"):
        ensure_dataset(tmp_path, "SPY-Bench")
