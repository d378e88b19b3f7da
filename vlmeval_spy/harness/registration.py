"""Put SPY-Bench datasets and models into VLMEvalKit's registries, in place and idempotently."""

from __future__ import annotations

from functools import partial
from types import ModuleType


def register_datasets(dataset_module: ModuleType) -> None:
    """Called once `vlmeval.dataset` has executed: extend its class and name lists."""
    from .dataset import SPYBenchDataset

    classes = [SPYBenchDataset]
    for cls in classes:
        if cls not in dataset_module.DATASET_CLASSES:
            dataset_module.DATASET_CLASSES.append(cls)
        for name in cls.supported_datasets():
            if name not in dataset_module.SUPPORTED_DATASETS:
                dataset_module.SUPPORTED_DATASETS.append(name)
        # `--data-config '{"x": {"class": "SPYBenchDataset", ...}}'` looks classes up here.
        setattr(dataset_module, cls.__name__, cls)


def register_models(config_module: ModuleType) -> None:
    """Called once `vlmeval.config` has executed: add our models to `supported_VLM`."""
    import vlmeval.vlm

    from .baselines import SPYAlwaysReject, SPYAlwaysRespond

    for cls in (SPYAlwaysRespond, SPYAlwaysReject):
        setattr(vlmeval.vlm, cls.__name__, cls)
    config_module.supported_VLM.update({
        "SPY-AlwaysRespond": partial(SPYAlwaysRespond),
        "SPY-AlwaysReject": partial(SPYAlwaysReject),
    })


def register_all() -> None:
    """Register without the `.pth` hook (e.g. `spy-bench run`, or a hook-less install)."""
    import vlmeval.config
    import vlmeval.dataset

    register_datasets(vlmeval.dataset)
    register_models(vlmeval.config)
