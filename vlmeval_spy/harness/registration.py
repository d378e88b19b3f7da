"""Put SPY-Bench datasets and models into VLMEvalKit's registries, in place and idempotently.

Adapter modules publish their own classes when they finish executing (`publish_*` at their
end). The hook callbacks below just import them: this works whichever is imported first, our
adapters (which import VLMEvalKit, which runs the hook while our module is half-initialised)
or VLMEvalKit.
"""

from __future__ import annotations

import importlib
from functools import partial
from types import ModuleType

DATASET_MODULES = ("vlmeval_spy.harness.dataset",)
MODEL_MODULES = ("vlmeval_spy.harness.baselines", "vlmeval_spy.harness.named_models",
                 "vlmeval_spy.harness.scripted_chat",
                 # Last: it adds `SelfMod-<name>` for every model registered before it.
                 "vlmeval_spy.harness.self_moderation")


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


def register_datasets(dataset_module: ModuleType) -> None:
    """Called once `vlmeval.dataset` has executed."""
    for module in DATASET_MODULES:
        importlib.import_module(module)
    # Now, before run.py logs its judge arguments and records its argv: keeps API keys out of both.
    importlib.import_module("vlmeval_spy.harness.redaction").install()


def register_models(config_module: ModuleType) -> None:
    """Called once `vlmeval.config` has executed."""
    for module in MODEL_MODULES:
        importlib.import_module(module)


def register_all() -> None:
    """Register without the `.pth` hook (e.g. `spy-bench run`, or a hook-less install)."""
    import vlmeval.config
    import vlmeval.dataset

    register_datasets(vlmeval.dataset)
    register_models(vlmeval.config)
