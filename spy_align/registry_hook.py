"""Hand saved checkpoints to the SPY-Bench model registry, so VLMEvalKit evaluates them by name.

`vlmeval_spy.models.registry` is optional here: when it is not importable, nothing is recorded.
Call these from the main process only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

REGISTRY_MODULE = "vlmeval_spy.models.registry"
_NOT_IN_NAMES = re.compile(r"[^A-Za-z0-9._+-]+")


def registry_name(run_name: str) -> str:
    """`run_name` as a registry (and VLMEvalKit) model name: separators and odd characters become '-'."""
    name = _NOT_IN_NAMES.sub("-", run_name).strip("-._+")
    if not name:
        raise ValueError(f"run name {run_name!r} has no character usable in a model name")
    return name[:128]


def on_checkpoint_saved(path: str | Path, run_name: str, method: str, **info: Any) -> bool:
    """Record checkpoint `path` as model `run_name` (made name-safe); False when the registry is absent.

    `info` is stored as provenance; a `model_kwargs` dict in it becomes the evaluation model's
    keyword arguments (e.g. the `max_pixels` the model was trained with).
    """
    try:
        from vlmeval_spy.models.registry import record_checkpoint
    except ModuleNotFoundError as err:
        if err.name not in (REGISTRY_MODULE, "vlmeval_spy"):
            raise
        return False
    record_checkpoint(name=registry_name(run_name), path=path, source="spy-align", method=method, **info)
    return True


def register_run(output_dir: str | Path, run_name: str, method: str, **info: Any) -> list[str]:
    """Record the epoch checkpoints under `output_dir` as `RUN-epochN`, then the final model as `RUN`.

    Checkpoints saved mid-epoch (`save_strategy="steps"`) are recorded as `RUN-stepS`. For a run
    trained before; `spy-align` itself records each checkpoint as it is saved (`register_checkpoint`).
    Returns the names recorded.
    """
    names = []
    for checkpoint in sorted(Path(output_dir).glob("checkpoint-*"), key=_step_of):
        name = register_checkpoint(checkpoint, run_name, method, **info)
        if name:
            names.append(name)
    if on_checkpoint_saved(output_dir, run_name, method, **info):
        names.append(registry_name(run_name))
    return names


def register_checkpoint(checkpoint: str | Path, run_name: str, method: str, **info: Any) -> str | None:
    """Record one `checkpoint-N` folder as `RUN-epochE` (saved at an epoch's end) or `RUN-stepN`.

    Returns the name recorded, None when the registry is absent.
    """
    checkpoint = Path(checkpoint)
    name = f"{run_name}-{_checkpoint_suffix(checkpoint)}"
    if on_checkpoint_saved(checkpoint, name, method, checkpoint=checkpoint.name, **info):
        return registry_name(name)
    return None


def _step_of(checkpoint: Path) -> int:
    suffix = checkpoint.name.rsplit("-", 1)[-1]
    return int(suffix) if suffix.isdigit() else -1


def _checkpoint_suffix(checkpoint: Path) -> str:
    state_file = checkpoint / "trainer_state.json"
    state = json.loads(state_file.read_text()) if state_file.is_file() else {}
    epoch = state.get("epoch")
    if isinstance(epoch, (int, float)) and epoch > 0 and abs(epoch - round(epoch)) < 1e-6:
        return f"epoch{round(epoch)}"
    return f"step{state.get('global_step', _step_of(checkpoint))}"
