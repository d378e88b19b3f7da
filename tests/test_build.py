"""`spy-bench build`: bad input gives one clear error naming file, item and field, and no output."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from conftest import make_item, write_release
from harness_run import SPY_BENCH, run_module
from vlmeval_spy.bench.build import meta_path, read_tsv
from vlmeval_spy.bench.constants import EXPANSION_VERSION


def images(root: Path, *names: str) -> Path:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8), "red").save(root / name)
    return root


def spy_bench(*args: str) -> subprocess.CompletedProcess:
    """`spy-bench ARGS` in its own process."""
    return run_module(SPY_BENCH, args)


def build(
    tmp_path: Path, items: list[dict], *extra: str, label2text: dict | None = None
) -> subprocess.CompletedProcess:
    q, l2t = write_release(tmp_path, items, label2text)
    images(tmp_path / "imgs", "img/one.png")
    return build_release(tmp_path, q, l2t, *extra)


def build_release(tmp_path: Path, questions: Path, label2text: Path, *extra: str) -> subprocess.CompletedProcess:
    """`spy-bench build` of a written release, images under `tmp_path/imgs`, output to `tmp_path/out`."""
    return spy_bench(
        "build",
        "--questions",
        str(questions),
        "--label2text",
        str(label2text),
        "--images",
        str(tmp_path / "imgs"),
        "--out",
        str(tmp_path / "out"),
        *extra,
    )


def test_reference_build_writes_both_settings(tmp_path):
    proc = build(tmp_path, [make_item(), make_item(benchmark_id="b2")])
    assert proc.returncode == 0, proc.stderr
    full, nd = read_tsv(tmp_path / "out" / "SPY-Bench.tsv"), read_tsv(tmp_path / "out" / "SPY-Bench-ND.tsv")
    assert len(full) == len(nd) == 10 and "image" not in full.columns
    assert list(full["is_privacy"][:5]) == [1, 0, 1, 1, 0]
    assert list(full["scenario"][:5]) == ["", "", "s_border", "s_party", "s_party"]
    assert full["question"][0].count("\n") == 4 and nd["question"][0].count("\n") == 2
    meta = json.loads(meta_path(tmp_path / "out" / "SPY-Bench.tsv").read_text())
    assert meta["expansion_version"] == EXPANSION_VERSION and meta["images_root"] == str((tmp_path / "imgs").resolve())
    assert all(len(md5) == 32 for md5 in meta["inputs"].values())


def test_ids_and_texts_survive_the_tsv(tmp_path):
    item = make_item(benchmark_id="00042")
    item["question_item"] = {**item["question_item"], "gt": "None", "question": "Tab\there?"}
    assert build(tmp_path, [item]).returncode == 0
    frame = read_tsv(tmp_path / "out" / "SPY-Bench-ND.tsv")
    assert frame["benchmark_id"][0] == "00042" and frame["gt"][0] == "None"
    assert frame["question"][0].endswith("Tab\there?")


def test_embedded_build_stores_each_image_once(tmp_path):
    assert build(tmp_path, [make_item(), make_item(benchmark_id="b2")], "--embed-images").returncode == 0
    frame = pd.read_csv(tmp_path / "out" / "SPY-Bench.tsv", sep="\t", dtype=str)
    assert len(frame["image"][0]) > 64 and set(frame["image"][1:]) == {"0"}


MISSING_QUESTION = make_item()
del MISSING_QUESTION["question_item"]["question"]


@pytest.mark.parametrize(
    "item,expected",
    [
        (MISSING_QUESTION, "item b1: field 'question_item.question': missing"),
        (make_item(label="a99_unknown"), "item b1: field 'label': unknown attribute 'a99_unknown'"),
        (
            make_item(other_labels={"a1_age_approx": 2}),
            "item b1: field 'other_labels.a1_age_approx': value 2 not in [0, 1]",
        ),
        (
            make_item(instruct_templates=["no placeholder", "{} is private."]),
            "item b1: field 'instruct_templates[0]': template must contain exactly one '{}'",
        ),
        (
            make_item(privacy_scenarios=[{"scenario": "s", "2nd_person_template": "Q: {} {}"}]),
            "item b1: field 'privacy_scenarios[0].2nd_person_template': template must contain exactly one '{}'",
        ),
        (
            make_item(question_item={"question_id": "q", "image_path": "img/missing.png", "question": "?", "gt": "x"}),
            "item b1: field 'question_item.image_path': image file not found",
        ),
    ],
)
def test_bad_input_is_reported_with_file_item_and_field(tmp_path, item, expected):
    proc = build(tmp_path, [item])
    assert proc.returncode == 2
    assert "questions.json: " + expected in proc.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_all_problems_are_reported_together(tmp_path):
    proc = build(tmp_path, [make_item(label="a99_x"), make_item(benchmark_id="b2", other_labels=[])])
    assert proc.returncode == 2
    assert "item b1: field 'label'" in proc.stderr and "item b2: field 'other_labels'" in proc.stderr


def test_structural_and_image_problems_are_reported_in_one_round(tmp_path):
    """Issue 28: a missing image and a truncated one were reported only once the structure was fixed."""
    question = {"question_id": "q", "question": "How old?", "gt": "30"}
    items = [
        make_item(benchmark_id="b1", label="a99_x"),  # a structural problem, and its image is fine
        make_item(benchmark_id="b2", question_item={**question, "image_path": "img/missing.png"}),
        make_item(benchmark_id="b3", other_labels=[], question_item={**question, "image_path": "img/cut.png"}),
    ]
    q, l2t = write_release(tmp_path, items)
    images(tmp_path / "imgs", "img/one.png", "img/cut.png")
    cut = tmp_path / "imgs" / "img" / "cut.png"
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    proc = build_release(tmp_path, q, l2t, "--check")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    for part in (
        "4 problem(s) in the input",
        "item b1: field 'label'",
        "item b3: field 'other_labels'",
        "item b2: field 'question_item.image_path': image file not found",
        "item b3: field 'question_item.image_path': image cannot be decoded",
    ):
        assert part in proc.stderr, (part, proc.stderr)


def test_malformed_json_names_file_and_position(tmp_path):
    q = tmp_path / "questions.json"
    q.write_text('{"benchmark_list": [}')
    (tmp_path / "l.json").write_text("{}")
    proc = spy_bench(
        "build", "--questions", str(q), "--label2text", str(tmp_path / "l.json"), "--images", str(tmp_path)
    )
    assert proc.returncode == 2 and "questions.json: malformed JSON at line 1 column" in proc.stderr


def test_undecodable_image(tmp_path):
    q, l2t = write_release(tmp_path, [make_item()])
    (tmp_path / "imgs" / "img").mkdir(parents=True)
    (tmp_path / "imgs" / "img" / "one.png").write_bytes(b"not an image")
    proc = spy_bench(
        "build", "--questions", str(q), "--label2text", str(l2t), "--images", str(tmp_path / "imgs"), "--check"
    )
    assert proc.returncode == 2 and "image cannot be decoded" in proc.stderr


def test_failed_build_keeps_previous_tsv(tmp_path):
    assert build(tmp_path, [make_item()]).returncode == 0
    before = (tmp_path / "out" / "SPY-Bench.tsv").read_bytes()
    assert build(tmp_path, [make_item(label="a99_x")]).returncode == 2
    assert (tmp_path / "out" / "SPY-Bench.tsv").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "SPY-Bench-ND.tsv",
        "SPY-Bench-ND.tsv.meta.json",
        "SPY-Bench.tsv",
        "SPY-Bench.tsv.meta.json",
    ]


def test_check_mode_writes_nothing(tmp_path):
    proc = build(tmp_path, [make_item()], "--check")
    assert proc.returncode == 0 and "1 items valid" in proc.stdout and not (tmp_path / "out").exists()


def test_mini_release_is_valid(tmp_path):
    from vlmeval_spy.bench import mini

    mini.write_images(tmp_path)
    proc = spy_bench(
        "build",
        "--questions",
        str(mini.QUESTIONS_PATH),
        "--label2text",
        str(mini.LABEL2TEXT_PATH),
        "--images",
        str(tmp_path),
        "--check",
    )
    assert proc.returncode == 0, proc.stderr


def test_label2text_is_optional_when_items_carry_their_own(tmp_path):
    item = make_item(label2text={"a1_age_approx": "age", "a25_nationality": "citizenship", "a37_receipt": "receipt"})
    q, _ = write_release(tmp_path, [item])
    images(tmp_path / "imgs", "img/one.png")
    proc = spy_bench("build", "--questions", str(q), "--images", str(tmp_path / "imgs"), "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert read_tsv(tmp_path / "out" / "SPY-Bench-ND.tsv")["question"][0].startswith("citizenship is considered")


def test_duplicate_ids_and_unpairable_scenarios(tmp_path):
    twice = [
        {"scenario": "s_party", "2nd_person_template": "A {}"},
        {"scenario": "s_party", "2nd_person_template": "B {}"},
    ]
    proc = build(tmp_path, [make_item(), make_item(), make_item(benchmark_id="b3", privacy_scenarios=twice)])
    assert proc.returncode == 2
    assert "item b1: field 'benchmark_id': duplicate benchmark_id" in proc.stderr
    assert (
        "item b3: field 'privacy_scenarios[1].scenario': scenario 's_party' appears more than once in the item "
        "(first at privacy_scenarios[0].scenario)"
    ) in proc.stderr


def test_scenarios_json_consistency(tmp_path):
    scenarios = {"s_border": {"labels": ["a25_nationality"]}, "s_party": {"labels": ["a25_nationality"]}}
    (tmp_path / "scenarios.json").write_text(json.dumps(scenarios))
    proc = build(
        tmp_path,
        [
            make_item(),
            make_item(
                benchmark_id="b2", non_privacy_scenarios=[{"scenario": "s_unknown", "2nd_person_template": "{}"}]
            ),
        ],
        "--scenarios",
        str(tmp_path / "scenarios.json"),
    )
    assert proc.returncode == 2
    assert (
        "item b1: field 'privacy_scenarios[0].scenario': scenarios.json lists 'a25_nationality' for scenario 's_party'"
    ) in proc.stderr
    assert (
        "item b2: field 'non_privacy_scenarios[0].scenario': scenario 's_unknown' is not in scenarios.json"
        in proc.stderr
    )


def test_mini_items_agree_with_mini_scenarios(tmp_path):
    from vlmeval_spy.bench import mini
    from vlmeval_spy.bench.release import check_scenarios, load_label2text, load_release, load_scenarios

    items = load_release(mini.QUESTIONS_PATH, load_label2text(mini.LABEL2TEXT_PATH))
    assert check_scenarios(items, load_scenarios(mini.SCENARIOS_PATH), "q") == []


def test_interrupted_build_keeps_old_tsv_and_leaves_no_temporaries(tmp_path, monkeypatch):
    from conftest import LABEL2TEXT
    from vlmeval_spy.bench import build as build_module
    from vlmeval_spy.bench.release import parse_release

    assert build(tmp_path, [make_item()]).returncode == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    items = parse_release({"benchmark_list": [make_item(benchmark_id=f"n{i}") for i in range(50)]}, "q", LABEL2TEXT)
    calls = iter(range(10**6))

    def render_then_die(sample, distractors):
        if next(calls) == 60:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-way
        return "prompt"

    monkeypatch.setattr(build_module, "render_prompt", render_then_die)
    with pytest.raises(KeyboardInterrupt):
        build_module.write_datasets(items, tmp_path / "imgs", tmp_path / "out", embed=True)
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before


def test_embedded_image_positions_recover_the_original_bytes(tmp_path):
    from vlmeval_spy.bench.build import read_embedded_image

    assert build(tmp_path, [make_item(), make_item(benchmark_id="b2")], "--embed-images").returncode == 0
    original = (tmp_path / "imgs" / "img" / "one.png").read_bytes()
    for name in ("SPY-Bench.tsv", "SPY-Bench-ND.tsv"):
        meta = json.loads(meta_path(tmp_path / "out" / name).read_text())
        offset, length = meta["image_offsets"]["img/one.png"]
        assert read_embedded_image(tmp_path / "out" / name, offset, length) == original
    assert "image" not in read_tsv(tmp_path / "out" / "SPY-Bench.tsv").columns


@pytest.mark.parametrize("suffix", ["jpg", "png"])
@pytest.mark.parametrize("mode", [["--check"], []])
def test_truncated_image_is_caught_before_anything_is_written(tmp_path, suffix, mode):
    """The header of a cut-off file parses; only decoding it finds the missing data."""
    q, l2t = write_release(
        tmp_path,
        [
            make_item(
                question_item={
                    "question_id": "q1",
                    "image_path": f"img/one.{suffix}",
                    "question": "How old?",
                    "gt": "30",
                }
            )
        ],
    )
    path = tmp_path / "imgs" / "img" / f"one.{suffix}"
    path.parent.mkdir(parents=True)
    Image.effect_noise((64, 48), 80).convert("RGB").save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    proc = build_release(tmp_path, q, l2t, *mode)
    assert proc.returncode == 2
    assert "item b1: field 'question_item.image_path': image cannot be decoded" in proc.stderr
    assert "truncated" in proc.stderr and not (tmp_path / "out").exists()
