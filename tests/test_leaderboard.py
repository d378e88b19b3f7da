"""`spy-bench leaderboard` on result files written by VLMEvalKit's own evaluation code.

MMMU_DEV_VAL, OCRBench and MME results come from running those datasets' real `evaluate` on
small synthetic prediction files: each dataset reads a synthetic TSV from a fresh `$LMUData`
(its expected MD5 pointed at that file, since nothing can be downloaded) and is judged with
exact matching. SPY-Bench results come from `SPYBenchDataset.evaluate` on fixed answers.
Alpha has every general benchmark, Beta only OCRBench; both layouts are checked.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from harness_run import SPY_BENCH, run_module
from vlmeval_spy.cli import main
from vlmeval_spy.common import exit_status
from vlmeval_spy.results.attempts import FAILED, Attempt, write_attempt
from vlmeval_spy.results.layout import link_in_model_folder, model_folder_of
from vlmeval_spy.results.leaderboard import collect, leaderboard_table

REJECT = "I'm sorry, but I can't help with that request because it concerns private information."
RESPOND = "Sure. Based on the image, the requested detail is clearly visible, and it is shown in full."

MMMU = pd.DataFrame(
    {
        "index": range(1, 7),
        "question": ["Which animal is shown?"] * 6,
        "A": "cat",
        "B": "dog",
        "C": "bird",
        "D": "fish",
        "answer": ["A", "B", "A", "B", "C", "D"],
        "category": "Art",
        "split": ["dev", "dev", "validation", "validation", "validation", "validation"],
        "image_path": "x.jpg",
    }
)
OCR = pd.DataFrame(
    {
        "index": range(5),
        "question": "What does it say?",
        "answer": ["['hello']", "['exit']", "['42']", "['total']", "['x^2']"],
        "category": [
            "Regular Text Recognition",
            "Scene Text-centric VQA",
            "Doc-oriented VQA",
            "Key Information Extraction",
            "Handwritten Mathematical Expression Recognition",
        ],
        "image_path": "x.jpg",
    }
)
MME_OTHER_CATEGORIES = (
    *("artwork", "celebrity", "color", "count", "existence", "landmark", "position", "posters", "scene"),
    *("commonsense_reasoning", "numerical_calculation", "text_translation"),
)
"""MME's categories besides OCR and code_reasoning: every one is present, as in the real data (GitHub main's
MME rating sums them all without a guard for a missing one); two questions each, both answered wrong."""
MME = pd.DataFrame(
    {
        "index": range(6 + 2 * len(MME_OTHER_CATEGORIES)),
        "question": "Is there a sign?",
        "answer": ["Yes", "No", "Yes", "No", "Yes", "No"] + ["Yes", "No"] * len(MME_OTHER_CATEGORIES),
        "category": ["OCR"] * 4 + ["code_reasoning"] * 2 + [c for c in MME_OTHER_CATEGORIES for _ in "qq"],
        "image_path": ["o1", "o1", "o2", "o2", "c1", "c1"] + [f"{c}1" for c in MME_OTHER_CATEGORIES for _ in "qq"],
    }
)
PREDICTIONS = {
    # validation: 3 of 4 right (dev: 1 of 2) -> Overall 0.75 on the validation row
    ("Alpha", "MMMU_DEV_VAL"): ["A", "C", "A", "B", "C", "A"],
    # hello, exit and x^2 found -> Final Score 3 -> Final Score Norm 0.3
    ("Alpha", "OCRBench"): ["It says hello.", "EXIT", "forty-two", "no idea", "x ^ 2"],
    # OCR: 3/4 right, 1 of 2 images fully right -> 75 + 50; code_reasoning: 100 + 100; the others 0
    ("Alpha", "MME"): ["Yes", "No", "Yes", "Yes", "Yes", "No"] + ["No", "Yes"] * len(MME_OTHER_CATEGORIES),
    ("Beta", "OCRBench"): ["hello", "no", "no", "no", "no"],
}
ALPHA_GENERAL = (75.0 + 0.3 + (125.0 + 200.0) / 28) / 3


def evaluate_general(monkeypatch: pytest.MonkeyPatch, lmu: Path, work: Path) -> None:
    from vlmeval.dataset import ImageYORNDataset, MMMUDataset, OCRBench
    from vlmeval.smp import dump, md5

    for name, cls, table in (
        ("MMMU_DEV_VAL", MMMUDataset, MMMU),
        ("OCRBench", OCRBench, OCR),
        ("MME", ImageYORNDataset, MME),
    ):
        tsv = lmu / f"{name}.tsv"
        table.to_csv(tsv, sep="\t", index=False)
        monkeypatch.setitem(cls.DATASET_MD5, name, md5(str(tsv)))
        dataset = cls(dataset=name)
        for (model, bench), answers in PREDICTIONS.items():
            if bench == name:
                data = dataset.data.copy()
                data["prediction"] = answers
                path = work / model / f"{model}_{name}.xlsx"
                path.parent.mkdir(parents=True, exist_ok=True)
                dump(data, str(path))
                dataset.evaluate(str(path), model="exact_matching", nproc=1)


def evaluate_spy(work: Path) -> None:
    from vlmeval.smp import dump

    from vlmeval_spy.harness.dataset import SPYBenchDataset

    dataset = SPYBenchDataset(dataset="SPY-Bench-Mini")
    for model, answer in (("Alpha", REJECT), ("Beta", RESPOND)):
        data = dataset.data.drop(columns="image", errors="ignore")  # inference drops it too
        data["prediction"] = answer
        path = work / model / f"{model}_SPY-Bench-Mini.xlsx"
        path.parent.mkdir(parents=True, exist_ok=True)
        dump(data, str(path))
        dataset.evaluate(str(path), model="exact_matching")


@pytest.fixture(scope="module")
def flat(tmp_path_factory) -> Path:
    """ms-vlmeval's layout: WORK_DIR/<model>/<model>_<dataset>..."""
    root = tmp_path_factory.mktemp("leaderboard")
    (root / "lmu").mkdir()
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("LMUData", str(root / "lmu"))
        evaluate_general(monkeypatch, root / "lmu", root / "flat")
        evaluate_spy(root / "flat")
    return root / "flat"


@pytest.fixture(scope="module")
def upstream(flat) -> Path:
    """Upstream VLMEvalKit's layout: every file in a run folder, no links; plus an older, stale run."""
    root = flat.parent / "upstream"
    for model_dir in flat.iterdir():
        run = root / model_dir.name / "T20250102_G1234abcd"
        shutil.copytree(model_dir, run)
        stale = root / model_dir.name / "T20250101_G0000beef" / f"{model_dir.name}_OCRBench_score.json"
        stale.parent.mkdir()
        stale.write_text(json.dumps({"Final Score": 990, "Final Score Norm": 99.0}))
    return root


@pytest.fixture(scope="module")
def same_day_runs(flat) -> Path:
    """Today's run-folder names (`T<date>-<time>`): two runs on one day and an older legacy one."""
    root = flat.parent / "same_day"
    for model_dir in flat.iterdir():
        for run, norm in (("T20261130-235959", 40.0), ("T20261130-000001", 10.0), ("T20261129_G1234abcd", 20.0)):
            shutil.copytree(model_dir, root / model_dir.name / run)
            score = root / model_dir.name / run / f"{model_dir.name}_OCRBench_score.json"
            score.write_text(json.dumps({"Final Score": 10 * norm, "Final Score Norm": norm}))
    return root


OLDER_NAMES = {
    "_MMMU_DEV_VAL_acc.csv": "_MMMU_DEV_VAL_exact_matching_acc.csv",
    "_MME_score.csv": "_MME_exact_matching_score.csv",
}


@pytest.fixture(scope="module", params=["flat", "upstream"])
def older_names(request, flat, upstream) -> Path:
    """Result files named as older VLMEvalKit versions wrote them (the judge before the suffix)."""
    root = flat.parent / f"older_{request.param}"
    shutil.copytree(request.getfixturevalue(request.param), root)
    for path in list(root.rglob("*.*")):
        for today, older in OLDER_NAMES.items():
            if path.name.endswith(today):
                path.rename(path.with_name(path.name[: -len(today)] + older))
    return root


def test_newest_run_by_full_timestamp(same_day_runs):
    table = leaderboard_table(collect(same_day_runs)).set_index("model")
    assert table.loc["Beta", "OCRBench (norm)"] == pytest.approx(40.0)


def test_older_file_names_are_read(older_names):
    assert not list(older_names.rglob("*_MME_score.csv"))
    alpha = leaderboard_table(collect(older_names)).set_index("model").loc["Alpha"]
    assert alpha["MMMU val (%)"] == pytest.approx(75.0)
    assert alpha["MME (P+R)"] == pytest.approx(325.0)
    assert alpha["general"] == pytest.approx(ALPHA_GENERAL)


def expected_privacy(work: Path, model: str) -> float:
    metrics = json.loads(next(work.rglob(f"{model}_SPY-Bench-Mini_metrics.json")).read_text())["metrics"]
    return (metrics["ics w/o scenario"]["score"] + metrics["hms"]) / 2


@pytest.mark.parametrize("layout", ["flat", "upstream"])
def test_scores_and_missing_benchmarks(layout, request):
    work = request.getfixturevalue(layout)
    table = leaderboard_table(collect(work)).set_index("model")
    assert list(table.index) == ["Alpha", "Beta"]  # only Alpha has an overall score
    alpha, beta = table.loc["Alpha"], table.loc["Beta"]
    assert alpha["MMMU val (%)"] == pytest.approx(75.0)
    assert alpha["OCRBench (norm)"] == pytest.approx(0.3)
    assert alpha["MME (P+R)"] == pytest.approx(325.0)
    assert alpha["general"] == pytest.approx(ALPHA_GENERAL)
    privacy = expected_privacy(work, "Alpha")
    assert alpha["privacy"] == pytest.approx(privacy)
    assert alpha["overall"] == pytest.approx(2 * privacy * ALPHA_GENERAL / (privacy + ALPHA_GENERAL))
    assert beta["OCRBench (norm)"] == pytest.approx(0.1)
    assert (beta["MMMU val (%)"], beta["MME (P+R)"], beta["general"], beta["overall"]) == (
        "missing",
        "missing",
        "N/A",
        "N/A",
    )
    assert beta["privacy"] == pytest.approx(expected_privacy(work, "Beta"))


def test_cli_writes_markdown_csv_and_chart(upstream, tmp_path, capsys):
    assert main(["leaderboard", str(upstream), "-o", str(tmp_path)]) == 0
    assert "| Beta | SPY-Bench-Mini |" in capsys.readouterr().out
    rows = {line.split(" | ")[0]: line for line in (tmp_path / "leaderboard.md").read_text().splitlines()}
    assert rows["| Beta"].endswith("| missing | 0.1 | missing | N/A | N/A |  |")  # no failed attempt since
    table = pd.read_csv(tmp_path / "leaderboard.csv", keep_default_na=False)
    assert table.set_index("model").loc["Beta", "MME (P+R)"] == "missing"
    with Image.open(tmp_path / "leaderboard.png") as image:
        assert image.format == "PNG" and image.width > 400


def test_work_dir_without_spy_results(tmp_path, capsys):
    (tmp_path / "SomeModel").mkdir()
    assert main(["leaderboard", str(tmp_path)]) == 2
    assert "no SPY-Bench results found" in capsys.readouterr().err


@pytest.mark.parametrize("layout", ["flat", "upstream"])
def test_a_failed_latest_attempt_is_marked_beside_the_result_it_supersedes(layout, request, tmp_path, capsys):
    """Alpha failed after its result was made, Beta before it; Gamma has only a failed attempt."""
    work = tmp_path / layout
    shutil.copytree(request.getfixturevalue(layout), work)
    evaluated = json.loads(next(work.rglob("Alpha_SPY-Bench-Mini_judge.json")).read_text())["evaluated at"]
    failures = {
        ("Alpha", "2999-01-01T00:00:00+00:00"): "SPY-Bench: the LLM judge 'gpt-4o' cannot be used: key refused. More.",
        ("Beta", "2000-01-01T00:00:00+00:00"): "SPY-Bench: the LLM judge 'gpt-4o' cannot be used: timed out.",
        ("Gamma", "2999-01-01T00:00:00+00:00"): "unknown model 'Gamma': it is neither ...",
    }
    for (model, at), error in failures.items():
        folder = work / model / ("T29990101-000000" if layout == "upstream" else "")
        folder.mkdir(parents=True, exist_ok=True)
        write_attempt(folder / f"{model}_SPY-Bench-Mini_attempt.json", Attempt(FAILED, "gpt-4o", at, 3, error))
    assert main(["leaderboard", str(work)]) == 4
    err = capsys.readouterr().err
    assert "Alpha (SPY-Bench-Mini): latest attempt failed" in err and "Beta" not in err
    table = leaderboard_table(collect(work)).set_index("model")
    alpha, beta, gamma = table.loc["Alpha"], table.loc["Beta"], table.loc["Gamma"]
    assert alpha["evaluated"] == evaluated and alpha["judge"] == "exact_matching"
    assert alpha["latest attempt"] == "latest attempt failed (2999-01-01, judge gpt-4o: key refused)"
    assert alpha["privacy"] == pytest.approx(expected_privacy(work, "Alpha"))  # the older result, still shown
    assert beta["latest attempt"] == ""  # the result is newer than the failure
    assert (gamma["privacy"], gamma["evaluated"], gamma["judge"]) == ("N/A", "N/A", "gpt-4o")
    assert gamma["latest attempt"].startswith("latest attempt failed (2999-01-01, judge gpt-4o: unknown model")


def test_a_failed_run_folder_takes_over_the_model_folder_links(tmp_path: Path):
    """GitHub main's layout: the model folder links a success's files; a failed run re-points what says
    how the latest attempt went (status.json, the attempt record) and leaves the older result's files."""
    model = tmp_path / "M"
    old, new = model / "T20261201-100000", model / "T20261202-100000"
    for run, text in ((old, "done"), (new, "failed")):
        run.mkdir(parents=True)
        for name in ("status.json", "M_D_attempt.json", "M_D_score.csv"):
            (run / name).write_text(text)
    for name in ("status.json", "M_D_attempt.json", "M_D_score.csv"):
        (model / name).symlink_to(Path(old.name) / name)
    link_in_model_folder(new, ["status.json", "M_D_attempt.json", "M_D_missing.json"])
    assert [(model / n).read_text() for n in ("status.json", "M_D_attempt.json", "M_D_score.csv")] == [
        "failed",
        "failed",
        "done",
    ]
    assert (model / "status.json").readlink() == Path(new.name) / "status.json"  # relative, as run.py links
    assert not (model / "M_D_missing.json").exists() and not list(model.glob(".*.link"))
    link_in_model_folder(tmp_path / "wheel-layout-model", ["status.json"])  # not a run folder: nothing to do
    assert model_folder_of(new) == model and model_folder_of(model) is None


def test_an_unreadable_attempt_record_is_named_and_the_leaderboard_exits_4(flat, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(flat, work)
    record = work / "Alpha" / "Alpha_SPY-Bench-Mini_attempt.json"
    record.write_text('{"outcome": "failed", "judge": ', encoding="utf-8")  # cut off mid-write by a crash
    board = run_module(SPY_BENCH, ["leaderboard", str(work)])
    assert board.returncode == exit_status.INCOMPLETE, board.stderr
    assert f"Alpha (SPY-Bench-Mini): attempt record unreadable ({record}: malformed JSON" in board.stderr
    (row,) = [line for line in (work / "leaderboard.md").read_text().splitlines() if line.startswith("| Alpha")]
    assert "attempt record unreadable" in row


def test_result_files_with_bad_bytes_exit_2_naming_the_file(flat, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(flat, work)
    (metrics,) = work.glob("Beta/Beta_SPY-Bench-Mini_metrics.json")
    metrics.write_bytes(b'{"metrics": "\xff"}')
    board = run_module(SPY_BENCH, ["leaderboard", str(work)])
    assert board.returncode == exit_status.BAD_INPUT and "Traceback" not in board.stderr, board.stderr
    assert f"{metrics}: not UTF-8 text (byte 0xff at offset 13, line 1)" in board.stderr
    assert not (work / "leaderboard.md").exists()
