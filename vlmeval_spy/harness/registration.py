"""Put SPY-Bench datasets and models into VLMEvalKit's registries, in place and idempotently.

Adapter modules publish their own classes when they finish executing (`publish_*` at their
end). The hook callbacks below just import them: this works whichever is imported first, our
adapters (which import VLMEvalKit, which runs the hook while our module is half-initialised)
or VLMEvalKit.

VLMEvalKit has no plugin interface, so SPY-Bench relies on some of its internals (each one is
checked by tests/test_vlmeval_patches.py). `tested_vlmeval` lists the VLMEvalKits those tests
passed on (the PyPI wheel's range and GitHub main snapshots); with any other the callbacks warn
once per process and say what may break.
"""

from __future__ import annotations

import importlib
import os
import warnings
from functools import cache, partial
from types import ModuleType

from .tested_vlmeval import TESTED_CHECKOUTS, TESTED_RELEASE, untested_vlmeval

AT_RISK = (
    "registration of the SPY-Bench datasets and models (DATASET_CLASSES, SUPPORTED_DATASETS, supported_VLM)",
    "masking of API keys in logs and status.json (log-record factory, status_report.upsert_run_status)",
    "the LLM judge's calls (the judge wrapper's generate_inner)",
    "self-moderation answers (structured predictions with extra_records)",
    "the dataset's prompt winning over a model's own (force_use_dataset_prompt)",
    "the exit status and status.json of a failed SPY-Bench evaluation (run.py's error logging, "
    "status_report.upsert_dataset_status, build_dataset)",
    "API-mode inference of SPY-Bench (checkpoint interval, prompts and model adapters in vlmeval.inference_api)",
)
"""What depends on VLMEvalKit internals, as the version warning names it."""

DATASET_MODULES = ("vlmeval_spy.harness.dataset",)
MODEL_MODULES = (
    "vlmeval_spy.harness.baselines",
    "vlmeval_spy.harness.named_models",
    # Last: it adds `SelfMod-<name>` for every model registered before it.
    "vlmeval_spy.harness.self_moderation",
)


def publish_datasets(*classes: type) -> None:
    """Add dataset classes to `vlmeval.dataset`'s lists and namespace."""
    registry = importlib.import_module("vlmeval.dataset")
    for cls in classes:
        if cls not in registry.DATASET_CLASSES:
            registry.DATASET_CLASSES.append(cls)
        for name in cls.supported_datasets():
            if name not in registry.SUPPORTED_DATASETS:
                registry.SUPPORTED_DATASETS.append(name)
        # `--data-config '{"x": {"class": "SPYBenchDataset", ...}}'` looks classes up here.
        setattr(registry, cls.__name__, cls)


def publish_models(models: dict[str, type]) -> None:
    """Add model classes to `vlmeval.vlm` (for `--config` "class") and `supported_VLM` by name."""
    # Via sys.modules: right after `vlmeval.config` executes, `vlmeval.config` is not yet an
    # attribute of the `vlmeval` package.
    vlm, config = importlib.import_module("vlmeval.vlm"), importlib.import_module("vlmeval.config")
    for name, cls in models.items():
        setattr(vlm, cls.__name__, cls)
        config.supported_VLM[name] = partial(cls)


class UntestedVLMEvalKitWarning(UserWarning):
    """The installed VLMEvalKit is none that SPY-Bench's tests passed on (`tested_vlmeval`)."""


def untested_warning(found: str) -> str:
    return (
        f"SPY-Bench is tested with {TESTED_RELEASE} and VLMEvalKit GitHub main at {', '.join(TESTED_CHECKOUTS)}; "
        f"found {found}. SPY-Bench relies on VLMEvalKit internals; if they changed, these may break: "
        f"{'; '.join(AT_RISK)}. Install a tested VLMEvalKit, or run SPY-Bench's tests/test_vlmeval_patches.py "
        "against this one (VLMEVALKIT_SRC=... bash scripts/run_tests.sh)."
    )


@cache
def warn_if_untested() -> None:
    """Warn (once per process, on rank 0 only) when the installed VLMEvalKit is not a tested one."""
    if os.environ.get("RANK", "0") != "0":  # torchrun workers: one warning per run, not one per GPU
        return
    found = untested_vlmeval()
    if found:
        warnings.warn(untested_warning(found), UntestedVLMEvalKitWarning, stacklevel=3)


def register_datasets(dataset_module: ModuleType) -> None:
    """Called once `vlmeval.dataset` has executed."""
    warn_if_untested()
    for module in DATASET_MODULES:
        importlib.import_module(module)
    # Now, before run.py logs its judge arguments and records its argv: keeps API keys out of both.
    importlib.import_module("vlmeval_spy.harness.redaction").install()
    # And before run.py imports them: status.json entries, attempt records and the exit status.
    importlib.import_module("vlmeval_spy.harness.run_status").install()


def register_models(config_module: ModuleType) -> None:
    """Called once `vlmeval.config` has executed."""
    warn_if_untested()
    for module in MODEL_MODULES:
        importlib.import_module(module)


def register_all() -> None:
    """Register without the `.pth` hook (e.g. `spy-bench run`, or a hook-less install)."""
    import vlmeval.config
    import vlmeval.dataset

    register_datasets(vlmeval.dataset)
    register_models(vlmeval.config)
