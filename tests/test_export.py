"""`spy-bench export`: VLMEvalKit results back into the original record format.

The runs use VLMEvalKit's own inference job (`infer_data_job`) and `SPYBenchDataset.evaluate`,
in-process, for a plain model and a self-moderation one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from vlmeval_spy.cli import main
from vlmeval_spy.results.records import read_records

MODELS = ("SPY-AlwaysReject", "SelfMod-SPY-ScriptedChat")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("export")
    (root / "lmu").mkdir()
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("LMUData", str(root / "lmu"))
        from vlmeval.inference import infer_data_job

        from scripted_chat import register
        from vlmeval_spy.harness.dataset import SPYBenchDataset

        register()  # SPY-ScriptedChat is a test-only model

        for model in MODELS:
            dataset = SPYBenchDataset(dataset="SPY-Bench-Mini")
            work = root / "out" / model
            work.mkdir(parents=True)
            infer_data_job(model, work_dir=str(work), model_name=model, dataset=dataset)
            dataset.evaluate(str(work / f"{model}_SPY-Bench-Mini.xlsx"), model="exact_matching")
    return root / "out"


def metrics_of(records: Path, tmp_path: Path, *extra: str) -> dict:
    out = tmp_path / f"{records.stem}_metrics.json"
    assert main(["metrics", str(records), "-o", str(out), *extra]) == 0
    return json.loads(out.read_text())


@pytest.mark.parametrize("model", MODELS)
def test_export_then_metrics_reproduces_the_run(runs, model, tmp_path):
    stem = runs / model / f"{model}_SPY-Bench-Mini"
    exported = tmp_path / "records.jsonl"
    assert main(["export", f"{stem}.xlsx", "-o", str(exported)]) == 0
    assert metrics_of(exported, tmp_path) == json.loads(Path(f"{stem}_metrics.json").read_text())


def test_self_moderation_keeps_its_three_answers(runs, tmp_path):
    plain, selfmod = (runs / m / f"{m}_SPY-Bench-Mini.xlsx" for m in MODELS)
    assert main(["export", str(plain), "-o", str(tmp_path / "plain.jsonl")]) == 0
    assert main(["export", str(selfmod), "-o", str(tmp_path / "selfmod.jsonl")]) == 0
    plain_records, records = read_records(tmp_path / "plain.jsonl"), read_records(tmp_path / "selfmod.jsonl")
    assert "resp_2" not in plain_records[0] and plain_records[0]["eval_resp"] == "reject"
    predictions = pd.read_excel(selfmod)["prediction"].tolist()
    assert [r["resp_3"] for r in records] == predictions
    first = records[0]
    assert list(first)[:10] == [
        "index",
        "benchmark_id",
        "question_id",
        "label",
        "is_privacy",
        "scenario",
        "question",
        "response",
        "resp_2",
        "resp_3",
    ]
    assert first["response"] != first["resp_2"] and first["eval_resp"] in ("respond", "reject")


def test_unjudged_results_can_be_judged_on_the_third_answer(runs, tmp_path):
    """Without a verdicts file (an inference-only run) the records carry no verdict; judging
    `resp_3` with the same rule judge then gives the run's metrics."""
    model = MODELS[1]
    source = runs / model / f"{model}_SPY-Bench-Mini.xlsx"
    unjudged = tmp_path / source.name
    shutil.copy(source, unjudged)
    assert main(["export", str(unjudged)]) == 0
    exported = tmp_path / f"{unjudged.stem}_records.jsonl"
    assert "eval_resp" not in read_records(exported)[0]
    judged = tmp_path / "judged.jsonl"
    assert main(["judge", str(exported), "--response-key", "resp_3", "-o", str(judged)]) == 0
    expected = json.loads((runs / model / f"{model}_SPY-Bench-Mini_metrics.json").read_text())
    assert metrics_of(judged, tmp_path) == expected


def test_errors_name_the_file(runs, tmp_path, capsys):
    model = MODELS[0]
    predictions = runs / model / f"{model}_SPY-Bench-Mini.xlsx"
    assert main(["export", str(predictions), "--verdicts", str(tmp_path / "nope.jsonl")]) == 2
    assert "nope.jsonl: file not found" in capsys.readouterr().err
    other = tmp_path / "M_MME.tsv"
    pd.DataFrame({"index": [1], "prediction": ["Yes"]}).to_csv(other, sep="\t", index=False)
    assert main(["export", str(other)]) == 2
    assert "not a SPY-Bench prediction file: missing column(s) benchmark_id" in capsys.readouterr().err
