"""Each VLMEvalKit internal that SPY-Bench patches or relies on, checked against the installed VLMEvalKit.

VLMEvalKit has no plugin interface. These tests fail when the internals below move, so a new
VLMEvalKit release is caught here rather than by users (see `TESTED_VLMEVAL` and the version
warning in vlmeval_spy/harness/registration.py).
"""

from __future__ import annotations

import argparse
import configparser
import inspect
import json
import logging
import socket
import sys
from pathlib import Path

import pandas as pd
import pytest
import requests
import vlmeval.config
import vlmeval.dataset
import vlmeval.inference
import vlmeval.inference_api
import vlmeval.inference_mt
import vlmeval.smp
import vlmeval.smp.file
import vlmeval.smp.status_report
import vlmeval.vlm
from packaging.requirements import Requirement
from vlmeval.dataset.utils.judge_util import build_judge
from vlmeval.vlm.base import BaseModel

from harness_run import load_run_py
from judge_server import JudgeServer, Reply
from vlmeval_spy.harness import registration, tested_vlmeval
from vlmeval_spy.harness.dataset import SPYBenchDataset
from vlmeval_spy.harness.judging import INFER_FAIL_MARKER
from vlmeval_spy.harness.named_models import ModelTable
from vlmeval_spy.harness.redaction import MASK
from vlmeval_spy.harness.run_command import RUN_PY_ENV, locate_run_py

REPO = Path(__file__).resolve().parents[1]
SECRET = "sk-spy-patch-test-0123456789"
RUN_PY = load_run_py()
RUN_PY_FILE = locate_run_py().path
"""The installed VLMEvalKit's run.py: the wheel's `vlmeval.run` or a checkout's `run.py`."""


@pytest.fixture
def lmu(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "lmu"
    root.mkdir()
    monkeypatch.setenv("LMUData", str(root))
    return root


# --- the version pin and its warning ---------------------------------------------------------


def test_setup_cfg_pins_the_tested_range():
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    harness = [line for line in config["options.extras_require"]["harness"].splitlines() if line.strip()]
    pinned = [Requirement(line) for line in harness if Requirement(line).name == "ms-vlmeval"]
    assert [str(r) for r in pinned] == [str(Requirement(tested_vlmeval.TESTED_RELEASE))]


def test_installed_vlmeval_is_a_tested_one():
    """The wheel by its version; a checkout (always `vlmeval` 0.1.0) by the files SPY-Bench relies on."""
    assert tested_vlmeval.untested_vlmeval() is None


def test_a_checkout_is_known_by_its_files_not_its_version(tmp_path, monkeypatch):
    checkout = tmp_path / "VLMEvalKit"
    (checkout / "vlmeval").mkdir(parents=True)
    (checkout / "run.py").write_bytes(RUN_PY_FILE.read_bytes() + b"\n# changed\n")
    monkeypatch.setenv(RUN_PY_ENV, str(checkout / "run.py"))
    assert f"a VLMEvalKit checkout at {checkout} (no git metadata) unlike any tested one" == (
        tested_vlmeval.untested_vlmeval()
    )


@pytest.fixture
def untested(monkeypatch):
    """The hook's view when the installed VLMEvalKit is none of the tested ones."""
    monkeypatch.setattr(tested_vlmeval, "TESTED_RELEASE", "ms-vlmeval>=99")
    monkeypatch.setattr(tested_vlmeval, "TESTED_CHECKOUTS", {})
    registration.warn_if_untested.cache_clear()
    yield
    registration.warn_if_untested.cache_clear()


def test_outside_the_tested_range_the_hook_warns_once_naming_what_may_break(untested):
    with pytest.warns(registration.UntestedVLMEvalKitWarning) as caught:
        registration.register_datasets(vlmeval.dataset)
        registration.register_models(vlmeval.config)
        registration.register_all()
    assert len(caught) == 1
    message = str(caught[0].message)
    found = "found ms-vlmeval 0.0." if locate_run_py().module else "found a VLMEvalKit checkout at"
    assert found in message
    for what in ("registration", "API keys", "judge", "self-moderation", "force_use_dataset_prompt"):
        assert what in message
    assert "SPY-Bench" in vlmeval.dataset.SUPPORTED_DATASETS  # a warning, never a failure


def test_torchrun_workers_other_than_rank_0_stay_quiet(untested, monkeypatch, recwarn):
    monkeypatch.setenv("RANK", "3")
    registration.register_datasets(vlmeval.dataset)
    assert not [w for w in recwarn if w.category is registration.UntestedVLMEvalKitWarning]


# --- registries --------------------------------------------------------------------------------


def test_dataset_registries_are_lists_that_build_dataset_consults(lmu):
    assert isinstance(vlmeval.dataset.DATASET_CLASSES, list) and SPYBenchDataset in vlmeval.dataset.DATASET_CLASSES
    assert isinstance(vlmeval.dataset.SUPPORTED_DATASETS, list)
    names = {"SPY-Bench", "SPY-Bench-ND", "SPY-Bench-Mini", "SPY-Bench-Mini-ND"}
    assert names <= set(vlmeval.dataset.SUPPORTED_DATASETS)
    dataset = vlmeval.dataset.build_dataset("SPY-Bench-Mini-ND")
    assert isinstance(dataset, SPYBenchDataset) and len(dataset) == 75
    # ImageBaseDataset's constructor calls our load_data and post_build hooks.
    assert dataset.images_root and dataset.meta["distractors"] is False


def test_config_class_names_resolve_in_the_namespaces_run_py_searches():
    """`--data-config` / `--config` entries name classes that run.py looks up by attribute."""
    assert vlmeval.dataset.SPYBenchDataset is SPYBenchDataset
    assert "getattr(vlmeval.vlm, cls_name)" in inspect.getsource(RUN_PY.build_model_from_config)
    assert vlmeval.vlm.SPYAlwaysReject.__name__ == "SPYAlwaysReject"


def test_supported_vlm_is_replaced_before_any_module_binds_it():
    table = vlmeval.config.supported_VLM
    assert isinstance(table, ModelTable) and isinstance(table, dict)
    binders = [
        module
        for name, module in [*sys.modules.items(), (RUN_PY.__name__, RUN_PY)]
        if name.startswith(("vlmeval", RUN_PY.__name__)) and isinstance(getattr(module, "supported_VLM", None), dict)
    ]
    assert {RUN_PY, vlmeval.inference, vlmeval.inference_mt} <= set(binders)
    assert all(module.supported_VLM is table for module in binders), [m.__name__ for m in binders]
    assert "SPY-AlwaysReject" in table and "SPY-AlwaysReject" in RUN_PY.supported_VLM


def test_the_status_report_finds_our_dataset_and_its_primary_metric(tmp_path):
    """VLMEvalKit's summary looks the dataset class up in DATASET_CLASSES and asks it for the headline."""
    vlmeval.smp.status_report.upsert_dataset_status(
        tmp_path, "probe", "SPY-Bench-Mini", status="done", metrics_source={"accuracy": 12.5, "hms": 40.0}
    )
    status = vlmeval.smp.status_report.load_run_status(tmp_path)
    assert status["datasets"]["SPY-Bench-Mini"]["primary_metric"] == "accuracy"


# --- secrets: the log-record factory and status_report.upsert_run_status --------------------


def test_upsert_run_status_is_wrapped_where_run_py_calls_it(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["run.py"])
    assert RUN_PY.upsert_run_status is vlmeval.smp.status_report.upsert_run_status
    assert RUN_PY.upsert_run_status is vlmeval.smp.upsert_run_status
    assert hasattr(RUN_PY.upsert_run_status, "__wrapped__")
    RUN_PY.upsert_run_status(tmp_path, argv=["run.py", "--judge-key", SECRET, "--model", "m"], mode="all")
    text = (tmp_path / vlmeval.smp.file.RUN_STATUS_NAME).read_text()
    assert SECRET not in text
    assert json.loads(text)["argv"] == ["run.py", "--judge-key", MASK, "--model", "m"]


def test_vlmeval_loggers_go_through_the_masking_record_factory(monkeypatch):
    monkeypatch.setenv("SPY_PATCH_TEST_API_KEY", SECRET)
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(self.format(record))

    logger = vlmeval.smp.get_logger("spy_patch_test")
    handler = Keep()
    logger.addHandler(handler)
    try:
        logger.warning("API Key: %s", SECRET)
    finally:
        logger.removeHandler(handler)
    assert seen == [f"API Key: {MASK}"]


# --- the judge wrapper -------------------------------------------------------------------------


def judge_wrapper(base_url: str):
    return build_judge(
        model="spy-patch-judge", api_base=f"{base_url}/chat/completions", key=SECRET, timeout=10, retry=1
    )


def test_judge_wrapper_generate_inner_returns_code_answer_response():
    """llm_judge.ask calls generate_inner itself to see HTTP statuses and Retry-After."""
    with JudgeServer(verdict=lambda prompt: "reject") as server:
        server.queue.append(Reply(status=429, headers={"Retry-After": "7"}))
        wrapper = judge_wrapper(server.base_url)
        assert isinstance(wrapper.default_kwargs, dict) and isinstance(wrapper.fail_msg, str)
        message = [{"type": "text", "value": "Is it private?"}]
        code, answer, response = wrapper.generate_inner(message, **dict(wrapper.default_kwargs))
        assert code == 429 and answer == wrapper.fail_msg
        assert isinstance(response, requests.Response) and response.headers["Retry-After"] == "7"
        code, answer, response = wrapper.generate_inner(message, **dict(wrapper.default_kwargs))
        assert (code, answer) == (0, "reject")
        assert server.payloads[-1]["model"] == "spy-patch-judge"


def test_judge_wrapper_raises_requests_errors_on_a_dead_endpoint():
    with socket.socket() as sock:  # a port nobody listens on once the socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(requests.ConnectionError):
        judge_wrapper(f"http://127.0.0.1:{port}/v1").generate_inner([{"type": "text", "value": "x"}])


# --- run.py's judge arguments and error handling (vlmeval_spy/harness/run_exit.py) ---------------


def judge_args(**changes) -> argparse.Namespace:
    values = {
        "judge_api_nproc": None,
        "api_nproc": 4,
        "judge_retry": None,
        "retry": 3,
        "verbose": False,
        "judge_timeout": 60,
        "judge_args": None,
        "judge_base_url": None,
        "judge_key": None,
        "judge": None,
        "use_verifier": False,
        "use_vllm": False,
    }
    return argparse.Namespace(**{**values, **changes})


def test_run_py_parses_judge_args_in_get_judge_kwargs():
    """run_exit turns this JSONDecodeError, recognised by the frame it is raised in, into exit 2."""
    with pytest.raises(json.JSONDecodeError) as caught:
        RUN_PY.get_judge_kwargs("SPY-Bench-Mini", "VQA", judge_args(judge_args="{'spy_prompt': 1"))
    frames = [entry.name for entry in caught.traceback]
    assert "get_judge_kwargs" in frames
    kwargs = RUN_PY.get_judge_kwargs(
        "SPY-Bench-Mini",
        "VQA",
        judge_args(
            judge_args='{"spy_cache": "c.sqlite"}', judge_base_url="http://127.0.0.1:9/v1/", judge_key=SECRET, judge="j"
        ),
    )
    assert kwargs["api_base"] == "http://127.0.0.1:9/v1/chat/completions"
    assert (kwargs["key"], kwargs["model"], kwargs["spy_cache"]) == (SECRET, "j", "c.sqlite")


def test_run_py_logs_a_failed_combination_with_its_exception():
    """run_exit finds a JudgeUnavailable in the `exc_info` of the record run.py logs, then goes on."""
    source = inspect.getsource(RUN_PY)
    assert "except Exception as e:\n                logger.exception(f'Model {model_name} x Dataset" in source


def test_status_json_internals_the_failed_entry_relies_on(tmp_path):
    """run_status edits a dataset's status.json entry with VLMEvalKit's own lock, reader and writer, after
    run.py and the API pipeline record an error with `upsert_dataset_status` (wrapped where they import it)."""
    status_report = vlmeval.smp.status_report
    assert vlmeval.smp.upsert_dataset_status is status_report.upsert_dataset_status
    assert getattr(status_report.upsert_dataset_status, "spy_bench_patch", False)
    status_report.upsert_run_status(tmp_path, model_name="m")
    status_report.upsert_dataset_status(tmp_path, "m", "MME", status="done", error_message="boom")
    path = status_report._get_run_status_path(tmp_path)
    assert status_report._get_run_status_lock_path(tmp_path).name == path.name + ".lock"
    data = status_report._load_run_status_unlocked(path)
    assert data["datasets"]["MME"] == {**data["datasets"]["MME"], "status": "done", "error_message": "boom"}
    status_report._dump_run_status_unlocked(path, data)
    source = inspect.getsource(RUN_PY)
    assert "status='done',\n                        error_message=str(e)," in source
    assert "upsert_dataset_status(**summary_kwargs)" in inspect.getsource(vlmeval.inference_api)


def test_build_dataset_returns_none_for_a_name_it_cannot_build(tmp_path, monkeypatch):
    """run_status records exit status 2 when `build_dataset` gives None; run.py --api-mode asserts on models."""
    monkeypatch.setenv("LMUData", str(tmp_path))
    with pytest.warns(UserWarning):
        assert vlmeval.dataset.build_dataset("No-Such-Dataset") is None
    assert 'f\'Model "{model_name}" not found in supported_VLM.' in inspect.getsource(RUN_PY)


# --- inference: the dataset's prompt wins; structured predictions; failure markers -------------


class PromptProbe(BaseModel):
    """Wants its own prompt, and answers with the prompt text it was given plus a structured record."""

    INTERLEAVE = False

    def use_custom_prompt(self, dataset):
        return True

    def build_prompt(self, line, dataset=None):
        return [{"type": "text", "value": "the model's own prompt"}]

    def generate_inner(self, message, dataset=None):
        text = "".join(part["value"] for part in message if part["type"] == "text")
        return {"prediction": text, "extra_records": json.dumps({"turns": 3})}


def test_infer_data_job_uses_the_dataset_prompt_and_keeps_extra_records(lmu, tmp_path, monkeypatch):
    monkeypatch.setenv("PRED_FORMAT", "tsv")
    dataset = vlmeval.dataset.build_dataset("SPY-Bench-Mini-ND")
    assert dataset.force_use_dataset_prompt is True
    work = tmp_path / "work"
    work.mkdir()
    vlmeval.inference.infer_data_job(PromptProbe(), str(work), "probe", dataset)
    result = vlmeval.smp.load(
        vlmeval.smp.get_pred_file_path(str(work), "probe", "SPY-Bench-Mini-ND", use_env_format=True)
    )
    expected = pd.Series(dataset.data["question"]).tolist()
    assert result["prediction"].tolist() == expected
    # vlmeval_spy.harness.predictions reads the answers from the dataset's frame, which infer_data_job fills.
    assert dataset.data["prediction"].tolist() == expected
    assert set(result["extra_records"]) == {json.dumps({"turns": 3})}


def test_failure_markers_match_vlmeval():
    """A failed inference is recognised by VLMEvalKit's marker text, and a failed chat by `chat`'s answer."""
    assert vlmeval.smp.file.INFER_FAIL_MSG == INFER_FAIL_MARKER
    assert vlmeval.inference.FAIL_MSG.startswith(INFER_FAIL_MARKER)

    class Failing(BaseModel):
        def chat_inner(self, messages, dataset=None):
            raise RuntimeError("turn failed")

    answer = Failing().chat([{"role": "user", "content": [{"type": "text", "value": "hi"}]}])
    assert answer.startswith("Chat Mode: Failed")


def test_prediction_file_reload_changes_what_predictions_py_recovers(tmp_path):
    """`harness/predictions.py` recovers exactly these changes, emulated with VLMEvalKit's own dump/load."""
    from vlmeval_spy.harness.predictions import reloaded

    texts = ["None", "=5 feet tall", "0042", "a\r\nb", "plain"]
    formula = "0" if locate_run_py().module else "=5 feet tall"  # the wheel writes "=..." as a formula, main as text
    for suffix, want in (
        (".xlsx", ["nan", formula, "0042", "a_x000D_\nb", "plain"]),
        (".tsv", ["nan", "=5 feet tall", "0042", "a\r\nb", "plain"]),
        (".json", texts),
    ):
        assert reloaded(texts, suffix) == want, suffix
