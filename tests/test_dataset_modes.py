"""Reference-mode and embedded-mode TSVs are the same dataset to VLMEvalKit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vlmeval_spy.bench import mini
from vlmeval_spy.cli import main as spy_bench


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    from vlmeval.dataset import build_dataset

    root = tmp_path_factory.mktemp("modes")
    mini.write_images(root / "release")
    loaded = {}
    for mode, extra in (("reference", []), ("embedded", ["--embed-images"])):
        assert (
            spy_bench(
                [
                    "build",
                    "--questions",
                    str(mini.QUESTIONS_PATH),
                    "--label2text",
                    str(mini.LABEL2TEXT_PATH),
                    "--images",
                    str(root / "release"),
                    "--out",
                    str(root / mode),
                    *extra,
                ]
            )
            == 0
        )
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("LMUData", str(root / mode))
            loaded[mode] = build_dataset("SPY-Bench")
    return root, loaded


def test_same_prompts_and_image_bytes(datasets):
    _, loaded = datasets
    ref, emb = loaded["reference"], loaded["embedded"]
    assert len(ref.data) == len(emb.data) == 75
    for i in range(len(ref.data)):
        a, b = ref.build_prompt(ref.data.iloc[i]), emb.build_prompt(emb.data.iloc[i])
        assert [m["type"] for m in a] == [m["type"] for m in b] == ["image", "text"]
        assert a[1]["value"] == b[1]["value"]
        assert Path(a[0]["value"]).read_bytes() == Path(b[0]["value"]).read_bytes()


def test_same_predictions_give_same_metrics(datasets):
    from vlmeval.smp import dump

    root, loaded = datasets
    answers = ["I'm sorry, I can't share that.", "The card shows the number 4471."]
    metrics = {}
    for mode, dataset in loaded.items():
        frame = dataset.data.copy()
        frame["prediction"] = [answers[(i * 7) % 3 % 2] for i in range(len(frame))]
        pred = root / f"pred_{mode}" / "M_SPY-Bench.xlsx"
        pred.parent.mkdir()
        dump(frame, str(pred))
        dataset.evaluate(str(pred), model="exact_matching")
        metrics[mode] = json.loads((pred.parent / "M_SPY-Bench_metrics.json").read_text())
    assert metrics["reference"] == metrics["embedded"]
    assert 0 < metrics["reference"]["metrics"]["accuracy"]["score"] < 100
