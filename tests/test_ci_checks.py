"""scripts/check_skips.py, which makes a skipped test fail the README's test command and .ci/run."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import conftest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "check_skips.py"
SKIPPING_TESTS = f'''
import pytest

def test_runs():
    pass

def test_missing_dependency():
    pytest.importorskip("no_such_module_for_spy_bench")

def test_missing_file():
    pytest.skip("data/never_written.json is absent")

def test_upstream():
    pytest.skip("{conftest.UPSTREAM_ABSENT}")
'''


def load_script():
    spec = importlib.util.spec_from_file_location("check_skips", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """A real pytest JUnit report with a passing test and three kinds of skip."""
    folder = tmp_path_factory.mktemp("skipping")
    (folder / "test_skipping.py").write_text(SKIPPING_TESTS)
    xml = folder / "report.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}", str(folder)],
        cwd=folder,
        capture_output=True,
        check=True,
    )
    return xml


def test_the_script_knows_the_conftest_upstream_skip():
    script = load_script()
    assert script.UPSTREAM == conftest.UPSTREAM
    assert script.UPSTREAM_ABSENT == conftest.UPSTREAM_ABSENT


def test_every_skip_is_listed_with_its_reason_and_fails(report, tmp_path, monkeypatch, capsys):
    script = load_script()
    monkeypatch.setattr(script, "UPSTREAM", tmp_path / "absent")
    assert script.main([str(report)]) == 1
    out, err = capsys.readouterr()
    assert "SKIPPED: test_skipping::test_missing_dependency: could not import 'no_such_module_for_spy_bench'" in out
    assert "SKIPPED: test_skipping::test_missing_file: data/never_written.json is absent" in out
    assert "test_runs" not in out
    assert "2 test(s) skipped" in err


def test_command_line(report, tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True)
    assert proc.returncode == 2 and "usage:" in proc.stderr
    proc = subprocess.run([sys.executable, str(SCRIPT), str(report)], capture_output=True, text=True)
    assert proc.returncode == 1 and "SKIPPED: test_skipping::test_missing_file" in proc.stdout


@pytest.mark.parametrize("present", [True, False])
def test_the_upstream_skip_is_accepted_only_where_the_folder_is_absent(report, tmp_path, monkeypatch, capsys, present):
    script = load_script()
    upstream = tmp_path / "spy_upstream"
    if present:
        upstream.mkdir()
    monkeypatch.setattr(script, "UPSTREAM", upstream)
    assert script.main([str(report)]) == 1
    out = capsys.readouterr().out
    verdict = "SKIPPED" if present else "skipped (allowed)"
    assert f"{verdict}: test_skipping::test_upstream: {conftest.UPSTREAM_ABSENT}" in out


def test_a_run_without_skips_passes(tmp_path, capsys):
    xml = tmp_path / "report.xml"
    xml.write_text('<testsuites><testsuite><testcase classname="t" name="ok"/></testsuite></testsuites>')
    assert load_script().main([str(xml)]) == 0
    assert capsys.readouterr().out == ""
