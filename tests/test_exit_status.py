"""The exit-status contract (README, "Exit status"; `vlmeval_spy.common.exit_status`) through the real entry points:
`python -m vlmeval.run` in its own process (local and `--api-mode`), `spy-bench` and the exit handler order
(`spy-bench judge`'s statuses are in test_llm_judge.py).

Each case asserts the exit status, the files on disk and what a reader of them is told: a failed re-run is
never shown as the latest result, unknown names are usage errors, keys are masked however argparse
accepts their flags.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from harness_run import output
from harness_run import run_py as run
from judge_server import dead_port
from vlmeval_spy import cli
from vlmeval_spy.common import exit_status
from vlmeval_spy.harness.redaction import MASK, redact_argv
from vlmeval_spy.harness.run_command import RUN_PY_ENV
from vlmeval_spy.harness.run_options import UnreadableRunOptionsWarning, option_values, run_py_options

pytestmark = pytest.mark.timeout(600)

MODEL, DATASET, SAMPLES = "SPY-AlwaysReject", "SPY-Bench-Mini", 75
SECRETS = {
    "--judge-k": "sk-abbrev-k-0001aa",
    "--judge-ke": "sk-abbrev-ke-0002bb",
    "--judge-key=": "sk-equals-0003cc",
    "--judge-k=": "sk-abbrev-equals-0004dd",
    "--judge-key": "zq7x9",
    "--key": "sk-model-key-0005ee",
}
"""Every way argparse lets a user pass a key to run.py, each with its own secret; the judge gets the last
`--judge-key` spelling, a short one (masked whatever its length, `API Key:` line included)."""


def with_dead_judge(root: Path, *args: str):
    """SPY-Bench-Mini, the fixed-answer model and an LLM judge nobody answers for."""
    judge = ["--judge", "gpt-4o", "--judge-base-url", f"http://127.0.0.1:{dead_port()}/v1"]
    return run(root, [DATASET], [MODEL], *args, *judge)


def secret_arguments() -> list[str]:
    words = []
    for flag, secret in SECRETS.items():
        words += [flag + secret] if flag.endswith("=") else [flag, secret]
    return words


def test_every_spelling_of_a_secret_flag_is_read_as_argparse_reads_it():
    options = run_py_options()
    assert {"--judge", "--judge-key", "--key", "--keep-failed"} <= options
    argv = ["run.py", "--judge", "gpt-4o", *secret_arguments(), "--judge-args", '{"key": "x"}', "--keep-failed"]
    assert option_values(argv, ("--judge-key", "--key")) == list(SECRETS.values())
    assert option_values(argv, ("--judge",)) == ["gpt-4o"]  # an option's full name is never another's prefix
    assert option_values(["--judge-args", "{}"], ("--judge-key",)) == []


def test_unreadable_run_py_options_leave_only_full_flag_names_to_mask(tmp_path: Path, monkeypatch):
    """No guessing when run.py's options cannot be read: `--judge` is not taken for `--judge-key`."""
    unreadable = tmp_path / "run.py"
    unreadable.write_text("print('a run.py without an argparse parser')\n")
    monkeypatch.setenv(RUN_PY_ENV, str(unreadable))
    with pytest.warns(UnreadableRunOptionsWarning, match="only full option names"):
        assert run_py_options() == frozenset()
    argv = ["run.py", "--judge", "gpt-4o", "--judge-key", "sk-full-name-0007", "--judge-k", "x", "--key=sk-m-0008"]
    assert option_values(argv, ("--judge-key", "--key")) == ["sk-full-name-0007", "sk-m-0008"]
    assert redact_argv(argv) == [*argv[:4], MASK, "--judge-k", "x", f"--key={MASK}"]


def test_a_failed_rerun_is_never_shown_as_the_latest_result(tmp_path: Path):
    """exact_matching result, then a re-run whose LLM judge is down: exit 3, the status and summary of the
    failed attempt carry no score, and the leaderboard shows the older result marked as superseded."""
    first = run(tmp_path, [DATASET], [MODEL], "--judge", "exact_matching")
    assert first.returncode == 0, output(first)[-3000:]
    rerun = with_dead_judge(tmp_path, *secret_arguments())
    assert rerun.returncode == exit_status.JUDGE_UNAVAILABLE, output(rerun)[-3000:]
    assert "accuracy [judge" not in output(rerun)  # the summary prints no score for the failed attempt
    # The model folder's status.json: the wheel writes it there, GitHub main links it to the latest run.
    status = json.loads((tmp_path / "work" / MODEL / "status.json").read_text())
    entry = status["datasets"][DATASET]
    assert entry["status"] == "failed" and entry["judge_model"] == "gpt-4o" and entry["exit_status"] == 3
    assert status["argv"][status["argv"].index("--judge") + 1] == "gpt-4o"  # nothing but keys is masked
    assert "cannot connect" in entry["error_message"] and "metrics" not in entry and "primary_metric" not in entry
    attempt = json.loads((tmp_path / "work" / MODEL / f"{MODEL}_{DATASET}_attempt.json").read_text())
    assert (attempt["outcome"], attempt["judge"], attempt["exit_status"]) == ("failed", "gpt-4o", 3)
    score = (tmp_path / "work" / MODEL / f"{MODEL}_{DATASET}_score.csv").read_text()
    assert "exact_matching" in score.splitlines()[1] and "evaluated_at" in score.splitlines()[0]

    status = cli.main(["leaderboard", str(tmp_path / "work")])
    assert status == exit_status.INCOMPLETE
    (row,) = [line for line in (tmp_path / "work" / "leaderboard.md").read_text().splitlines() if MODEL in line]
    assert "| exact_matching |" in row and "| 60.0 |" in row  # the older result is still shown ...
    assert f"latest attempt failed ({attempt['at'][:10]}, judge gpt-4o: cannot connect" in row  # ... marked

    everything = [p.read_bytes() for p in (tmp_path / "work").rglob("*") if p.is_file()]
    for secret in SECRETS.values():
        assert secret not in output(rerun) and not any(secret.encode() in data for data in everything), secret


def test_api_mode_judge_failure_exits_3_and_keeps_every_answer(tmp_path: Path):
    proc = with_dead_judge(tmp_path, "--api-mode", "--judge-key", "sk-api-mode-0006ff")
    assert proc.returncode == exit_status.JUDGE_UNAVAILABLE, output(proc)[-3000:]
    (status_file,) = (tmp_path / "work" / MODEL).glob("T*/status.json")
    entry = json.loads(status_file.read_text())["datasets"][DATASET]
    assert entry["status"] == "failed" and "metrics" not in entry
    (predictions,) = status_file.parent.glob(f"{MODEL}_{DATASET}.xlsx")
    answers = pd.read_excel(predictions, engine="openpyxl")["prediction"]
    assert len(answers) == SAMPLES and answers.notna().all()
    # The judge cache is where the docs say in every mode: at the top of the work dir.
    assert not list((tmp_path / "work" / MODEL).rglob("*.sqlite"))


def test_unknown_dataset_and_model_names_are_usage_errors(tmp_path: Path):
    proc = run(tmp_path, ["SPY-Bench-Mimi", DATASET], ["SPY-AlwaysRejekt"], "--judge", "exact_matching")
    assert proc.returncode == exit_status.BAD_INPUT, output(proc)[-3000:]
    text = output(proc)
    assert "dataset 'SPY-Bench-Mimi' cannot be built" in text and "Did you mean: SPY-Bench-Mini" in text
    assert "unknown model 'SPY-AlwaysRejekt'" in text and "Did you mean: SPY-AlwaysReject" in text
    assert "Traceback" not in text

    api = run(tmp_path, [DATASET], ["SPY-AlwaysRejekt"], "--api-mode")
    assert api.returncode == exit_status.BAD_INPUT, output(api)[-3000:]
    assert "unknown model 'SPY-AlwaysRejekt'" in output(api) and "Traceback" not in output(api)


def test_the_close_names_of_an_unknown_dataset_are_in_the_run_summary(tmp_path: Path):
    proc = run(tmp_path, ["SPY-Bench-Mimi"], [MODEL], "--judge", "exact_matching")
    assert proc.returncode == exit_status.BAD_INPUT, output(proc)[-3000:]
    summary = output(proc).split("Run Summary Report")[-1]
    assert "invalid_dataset (did you mean: SPY-Bench-Mini" in summary, summary
    # The model folder's status.json (the wheel), or the run folder's (GitHub main links only a success's)
    (status,) = (tmp_path / "work" / MODEL).rglob("status.json")
    entry = json.loads(status.read_text())["datasets"]["SPY-Bench-Mimi"]
    assert entry["skip_reason"].startswith("invalid_dataset (did you mean: SPY-Bench-Mini")


@pytest.mark.parametrize("content", ["", "\n  \n"], ids=["empty", "blank"])
def test_metrics_of_a_file_without_records_is_bad_input(tmp_path: Path, content: str, capsys):
    records = tmp_path / "records.jsonl"
    records.write_text(content)
    assert cli.main(["metrics", str(records)]) == exit_status.BAD_INPUT
    assert "holds no records" in capsys.readouterr().err


def test_the_exit_status_handler_runs_after_every_other_exit_handler(tmp_path: Path):
    """Registered at interpreter start (the .pth hook), it runs last: handlers registered later, as the
    checkpoint flush and the server pool are, still run, and the status is the recorded one."""
    marker = tmp_path / "flushed"
    code = textwrap.dedent(f"""
        import atexit
        from pathlib import Path
        from vlmeval_spy.common import exit_status
        atexit.register(lambda: Path({str(marker)!r}).write_text("ran"))
        exit_status.record(exit_status.JUDGE_UNAVAILABLE)
        exit_status.record(exit_status.BAD_INPUT)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == exit_status.JUDGE_UNAVAILABLE, proc.stderr
    assert marker.read_text() == "ran"
