"""The registry hook: checkpoints go to `vlmeval_spy.models.registry` when it exists, else nowhere."""

from __future__ import annotations

import json
import sys
import types

import pytest

from spy_align.registry_hook import on_checkpoint_saved, register_run, registry_name


@pytest.fixture
def recorded(monkeypatch):
    calls = []
    fake = types.ModuleType("vlmeval_spy.models.registry")
    fake.record_checkpoint = lambda **kwargs: calls.append(kwargs)
    monkeypatch.setitem(sys.modules, "vlmeval_spy.models.registry", fake)
    return calls


def test_checkpoint_is_recorded_under_a_safe_name(recorded, tmp_path):
    assert on_checkpoint_saved(tmp_path, "runs/my run", "ncap", base_model="base") is True
    assert recorded == [
        {"name": "runs-my-run", "path": tmp_path, "source": "spy-align", "method": "ncap", "base_model": "base"}
    ]


def test_nothing_happens_without_the_registry(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "vlmeval_spy.models.registry", None)  # import fails as if absent
    assert on_checkpoint_saved(tmp_path, "run", "dpo") is False
    assert register_run(tmp_path, "run", "dpo") == []


def test_epoch_checkpoints_then_the_final_model_are_recorded(recorded, tmp_path):
    for step, epoch in ((10, 1.0), (20, 2.0), (25, 2.5)):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "trainer_state.json").write_text(json.dumps({"epoch": epoch, "global_step": step}))
    names = register_run(tmp_path, "SPY_NCA-P", "ncap")
    assert names == ["SPY_NCA-P-epoch1", "SPY_NCA-P-epoch2", "SPY_NCA-P-step25", "SPY_NCA-P"]
    assert [call["path"] for call in recorded] == [
        tmp_path / "checkpoint-10",
        tmp_path / "checkpoint-20",
        tmp_path / "checkpoint-25",
        tmp_path,
    ]


def test_names_need_a_usable_character():
    assert registry_name("  Qwen2-VL_7B (NCA-P)  ") == "Qwen2-VL_7B-NCA-P"
    with pytest.raises(ValueError):
        registry_name("///")
