"""End to end through VLMEvalKit's real run module: both baselines on SPY-Bench-Mini.

Their verdicts are fixed (always reject / always respond), so every metric follows in closed
form from the mini benchmark's items; this checks expansion, prompts, the dataset class, the
judge wiring and the metrics together.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from harness_run import vlmeval_run
from vlmeval_spy.bench import mini
from vlmeval_spy.bench.constants import ABSOLUTELY_PRIVATE
from vlmeval_spy.cli import main as spy_bench

pytestmark = pytest.mark.timeout(600)


def closed_form(always: str) -> dict[str, float]:
    items = json.loads(mini.QUESTIONS_PATH.read_text())["benchmark_list"]
    n = len(items)
    n_abs = sum(i["label"] in ABSOLUTELY_PRIVATE for i in items)
    n_p = sum(len(i["privacy_scenarios"]) for i in items)
    n_p_abs = sum(len(i["privacy_scenarios"]) for i in items if i["label"] in ABSOLUTELY_PRIVATE)
    n_c = sum(len(i["non_privacy_scenarios"]) for i in items)
    n_c_abs = sum(len(i["non_privacy_scenarios"]) for i in items if i["label"] in ABSOLUTELY_PRIVATE)
    pct = lambda a, b: 100 * a / b  # noqa: E731
    if always == "reject":
        ata_c = pct(n_c_abs, n_c)
        return {
            "accuracy": pct(n + n_abs, 2 * n),
            "absolute privacy accuracy": 100.0,
            "ics w/o scenario": pct(n_abs, n),
            "absolute privacy ics w/o scenario": 100.0,
            "rta w/ non-conflict scenario": 100.0,
            "ata w/ non-conflict scenario": pct(n_p_abs, n_p),
            "ics w/ non-conflict scenario": pct(n_p_abs, n_p),
            "ata w/ conflict scenario": ata_c,
            "hms": 2 * ata_c * 100 / (ata_c + 100),
        }
    return {
        "accuracy": pct(n - n_abs, 2 * n),
        "absolute privacy accuracy": 0.0,
        "ics w/o scenario": 0.0,
        "absolute privacy ics w/o scenario": 0.0,
        "rta w/ non-conflict scenario": 0.0,
        "ata w/ non-conflict scenario": pct(n_p - n_p_abs, n_p),
        "ics w/ non-conflict scenario": 0.0,
        "ata w/ conflict scenario": pct(n_c - n_c_abs, n_c),
        "hms": 0.0,
    }


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("e2e")
    (root / "lmu").mkdir()
    env = {**os.environ, "LMUData": str(root / "lmu")}
    env.pop("OPENAI_API_KEY", None)
    data, models = ["SPY-Bench-Mini", "SPY-Bench-Mini-ND"], ["SPY-AlwaysReject", "SPY-AlwaysRespond"]
    proc = vlmeval_run(data, models, root / "out", "--judge", "exact_matching", env=env, cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root / "out"


@pytest.mark.parametrize("dataset", ["SPY-Bench-Mini", "SPY-Bench-Mini-ND"])
@pytest.mark.parametrize("model,always", [("SPY-AlwaysReject", "reject"), ("SPY-AlwaysRespond", "respond")])
def test_baseline_metrics_match_closed_form(run_dir, model, always, dataset):
    score = pd.read_csv(run_dir / model / f"{model}_{dataset}_score.csv").set_index("metric")["score"]
    for key, want in closed_form(always).items():
        assert float(score[key]) == pytest.approx(want), key
    assert int(score["exception"]) == 0


def test_outputs_hold_verdicts_labels_and_full_metrics(run_dir):
    base = run_dir / "SPY-AlwaysReject" / "SPY-AlwaysReject_SPY-Bench-Mini"
    records = [json.loads(line) for line in Path(f"{base}_verdicts.jsonl").read_text().splitlines()]
    items = json.loads(mini.QUESTIONS_PATH.read_text())["benchmark_list"]
    assert len(records) == sum(2 + len(i["non_privacy_scenarios"]) + 2 * len(i["privacy_scenarios"]) for i in items)
    assert {r["eval_resp"] for r in records} == {"reject"} and {r["judge"] for r in records} == {"exact_matching"}
    metrics = json.loads(Path(f"{base}_metrics.json").read_text())
    assert set(metrics) == {"metrics", "metrics group by label"}
    by_label = pd.read_csv(f"{base}_by_label.csv")
    assert list(by_label["label"]) == list(metrics["metrics group by label"])


def test_verdict_file_feeds_spy_bench_metrics(run_dir, tmp_path):
    base = run_dir / "SPY-AlwaysRespond" / "SPY-AlwaysRespond_SPY-Bench-Mini-ND"
    out = tmp_path / "m.json"
    assert spy_bench(["metrics", f"{base}_verdicts.jsonl", "-o", str(out)]) == 0
    assert json.loads(out.read_text()) == json.loads(Path(f"{base}_metrics.json").read_text())


def test_prompts_differ_between_settings(run_dir):
    with_d = pd.read_excel(run_dir / "SPY-AlwaysReject" / "SPY-AlwaysReject_SPY-Bench-Mini.xlsx")
    without = pd.read_excel(run_dir / "SPY-AlwaysReject" / "SPY-AlwaysReject_SPY-Bench-Mini-ND.xlsx")
    assert (with_d["question"].str.split("\n\n").str[0].str.count("\n") > 0).all()
    assert (without["question"].str.split("\n\n").str[0].str.count("\n") == 0).all()
