"""Bad record files through `spy-bench` in its own process (issue 28): bytes that are not UTF-8 and fields of
the wrong type end every record-reading command with exit status 2 and one message naming the file, the
line and the field, never a traceback; nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness_run import SPY_BENCH, output, run_module
from vlmeval_spy.common import exit_status

GOOD = {"benchmark_id": "A", "label": "a1_age_approx", "is_privacy": 1, "scenario": None, "question": "How old?"}


def jsonl(path: Path, *records: dict, raw: bytes = b"") -> Path:
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in records) + raw)
    return path


def spy_bench(*args: str):
    return run_module(SPY_BENCH, list(args))


def commands(records: Path, out: Path) -> dict[str, list[str]]:
    """Every command that reads original-format records, on `records`."""
    return {
        "metrics": ["metrics", str(records), "-o", str(out)],
        "judge": ["judge", str(records), "--judge", "exact_matching", "-o", str(out)],
        "judge-agreement": ["judge-agreement", str(records), str(records), "-o", str(out)],
        "export": ["export", str(records.with_suffix(".xlsx")), "--verdicts", str(records), "-o", str(out)],
    }


def assert_refused(proc, *parts: str) -> None:
    text = output(proc)
    assert proc.returncode == exit_status.BAD_INPUT, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    for part in parts:
        assert part in text, (part, text[-2000:])


@pytest.mark.parametrize("command", ["metrics", "judge", "judge-agreement"])
def test_bytes_that_are_not_utf8_name_the_file_and_line(tmp_path, command):
    records = jsonl(
        tmp_path / "r.jsonl", {**GOOD, "response": "No.", "eval_resp": "reject"}, raw=b'{"label": "\xff"}\n'
    )
    out = tmp_path / "out.json"
    proc = spy_bench(*commands(records, out)[command])
    assert_refused(proc, f"{records}: not UTF-8 text (byte 0xff at offset", "line 2)")
    assert not out.exists()


@pytest.mark.parametrize("command", ["metrics", "judge", "judge-agreement"])
def test_a_field_of_the_wrong_type_names_file_line_and_field(tmp_path, command):
    bad = {**GOOD, "benchmark_id": "B", "is_privacy": "yes", "response": "No.", "eval_resp": "reject"}
    records = jsonl(tmp_path / "r.jsonl", {**GOOD, "response": "Yes.", "eval_resp": "respond"}, bad)
    out = tmp_path / "out.json"
    proc = spy_bench(*commands(records, out)[command])
    assert_refused(proc, f"{records}: item line 2: field 'is_privacy': must be 0 or 1, got 'yes'")
    assert not out.exists()


def test_every_problem_of_a_file_is_listed_at_once(tmp_path):
    records = jsonl(
        tmp_path / "r.jsonl",
        {**GOOD, "label": 7},
        {**GOOD, "scenario": {"id": "s1", "is_privacy": "no"}},
        {**GOOD, "benchmark_id": ["A"], "question": None},
    )
    proc = spy_bench("metrics", str(records))
    assert_refused(
        proc,
        "4 problem(s) in the input",
        "item line 1: field 'label': must be a string, got 7",
        "item line 2: field 'scenario.is_privacy': must be 0 or 1, got 'no'",
        "item line 3: field 'benchmark_id': must be a string or an integer",
        "item line 3: field 'question': must be a string, got None",
    )


def test_export_refuses_a_damaged_prediction_file_and_bad_verdicts(tmp_path):
    predictions = tmp_path / "M_SPY-Bench-Mini.xlsx"
    predictions.write_bytes(b"PK\x03\x04 half a zip")
    out = tmp_path / "out.jsonl"
    proc = spy_bench("export", str(predictions), "-o", str(out))
    assert_refused(proc, f"{predictions}: cannot be read as a .xlsx prediction file (BadZipFile")
    tsv = tmp_path / "M_SPY-Bench-Mini.tsv"
    tsv.write_bytes(b"index\tprediction\n1\t\xff\n")
    assert_refused(spy_bench("export", str(tsv), "-o", str(out)), f"{tsv}: not UTF-8 text")
    columns = "index benchmark_id question_id label is_privacy scenario scenario_privacy raw_question prediction"
    row = "1 A 0 a1_age_approx yes s1 1 How? No."
    tsv.write_text("\t".join(columns.split()) + "\n" + "\t".join(row.split()) + "\n", encoding="utf-8")
    assert_refused(
        spy_bench("export", str(tsv), "-o", str(out)), f"{tsv}: item row 1: field 'is_privacy': must be 0 or 1"
    )
    tsv.write_text("\t".join(columns.split()) + "\n" + "\t".join(row.replace("yes", "1").split()) + "\n")
    verdicts = jsonl(tmp_path / "v.jsonl", {"index": "1", "eval_resp": "reject"})
    proc = spy_bench("export", str(tsv), "--verdicts", str(verdicts), "-o", str(out))
    assert_refused(proc, f"{verdicts}: item line 1: field 'index': must be an integer, got '1'")
    assert not out.exists()
