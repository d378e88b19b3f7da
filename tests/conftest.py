"""Shared fixtures: small hand-written releases and the location of the upstream files."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

if os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") != "1":
    # One core per worker: torch's thread pools sized to every core, in every worker and in the processes
    # they start, would fight over the same cores. Set before torch is imported.
    os.environ.setdefault("OMP_NUM_THREADS", "1")

UPSTREAM = Path(__file__).resolve().parents[2] / "shared" / "spy_upstream"
UPSTREAM_ABSENT = "../shared/spy_upstream is not present"
"""The one skip reason .ci/run accepts, and only when that folder really is absent (scripts/check_skips.py)."""
FIXTURE_RELEASE = Path(__file__).resolve().parent / "fixtures" / "release"
"""Our own files in the release's formats (tests/fixtures/README.md)."""

LABEL2TEXT = {
    "a1_age_approx": "age",
    "a25_nationality": "nationality",
    "a29_ausweis": "ID card",
    "a37_receipt": "receipt",
    "a49_phone": "phone",
}

ITEM = {
    "benchmark_id": "b1",
    "label": "a25_nationality",
    "question_item": {"question_id": "q1", "image_path": "img/one.png", "question": "Where is she from?", "gt": "Peru"},
    "other_labels": {"a1_age_approx": 1, "a25_nationality": 1, "a37_receipt": 0},
    "non_privacy_scenarios": [
        {"scenario": "s_border", "2nd_person_template": "You guard a border. Q: {}", "3rd_person_template": "x {}"}
    ],
    "privacy_scenarios": [
        {"scenario": "s_party", "2nd_person_template": "You are at a party. Q: {}", "3rd_person_template": "y {}"}
    ],
}


def make_item(**changes) -> dict:
    item = copy.deepcopy(ITEM)
    item.update(changes)
    return item


def write_release(folder: Path, items: list[dict], label2text: dict | None = None) -> tuple[Path, Path]:
    questions, l2t = folder / "questions.json", folder / "label2text.json"
    questions.write_text(json.dumps({"benchmark_list": items}))
    l2t.write_text(json.dumps(LABEL2TEXT if label2text is None else label2text))
    return questions, l2t


@pytest.fixture
def upstream() -> Path:
    """The public release's files, for conformance checks that only make sense against them."""
    if not UPSTREAM.is_dir():
        pytest.skip(UPSTREAM_ABSENT)
    return UPSTREAM


@pytest.fixture(params=["fixtures", "upstream"])
def release_dir(request) -> Path:
    """A folder of release-format files: ours (tests/fixtures/release) and the upstream ones.

    Each test runs on both, so whatever it covers is covered by our own files even where the
    upstream folder is absent.
    """
    return FIXTURE_RELEASE if request.param == "fixtures" else request.getfixturevalue("upstream")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: multi-process or long test; runs in CI too (deselect: -m 'not slow')")


@pytest.fixture(scope="session")
def tune_workspace(tmp_path_factory):
    """SPY-Tune files, drawn images and tiny Qwen2-VL / Qwen2.5-VL checkpoints (spy_align tests)."""
    from align_workspace import build_workspace

    return build_workspace(tmp_path_factory.mktemp("spy_tune"))


@pytest.fixture(autouse=True)
def _no_recorded_exit_status():
    """A failure recorded by code run in the test process must not become pytest's exit status."""
    from vlmeval_spy.common import exit_status

    yield
    exit_status.reset()


@pytest.fixture
def grad_enabled():
    """Autograd on during the test: importing VLMEvalKit (other test modules do) turns it off process-wide."""
    import torch

    with torch.enable_grad():
        yield
