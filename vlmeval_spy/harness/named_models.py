"""Built-in names and model-registry entries as `supported_VLM` entries.

Everything is lazy: an entry is a `functools.partial` that loads weights (or starts a server)
only when VLMEvalKit builds the model. A broken registry entry is reported as a warning naming the registry file and
the entry, and every other entry still registers. `supported_VLM` becomes a `ModelTable`, so an
unknown `--model NAME` fails with an explanation instead of a bare `KeyError: 'NAME'`.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from ..common.exit_status import BAD_INPUT
from ..models.names import BUILTIN_MODELS
from ..models.registry import DEFAULT_CLASS, ModelEntry, load_registry, registry_path

# hf_model and served_model may be half-initialised here: their classes are looked up at build time.
from . import api_inference, hf_model, served_model


class UnknownModelError(KeyError):
    """A KeyError whose message reads as a sentence (KeyError's own str() quotes it)."""

    EXIT_STATUS = BAD_INPUT

    def __str__(self) -> str:
        return str(self.args[0])


class ModelTable(dict):
    """`supported_VLM`, explaining the names it lacks."""

    def __init__(self, models: dict, registry: Path):
        super().__init__(models)
        self.registry = registry
        self.broken: dict[str, str] = {}

    def __missing__(self, name: str):
        raise UnknownModelError(unknown_model_message(name, self))


def unknown_model_message(name: str, table: ModelTable) -> str:
    if name in table.broken:
        return (
            f"model {name!r} is in the registry {table.registry} but its entry is broken: "
            f"{table.broken[name]}. Fix it with `spy-bench models add {name} PATH` "
            f"or drop it with `spy-bench models remove {name}`."
        )
    close = difflib.get_close_matches(name, [str(key) for key in table], n=5, cutoff=0.6)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return (
        f"unknown model {name!r}: it is neither in VLMEvalKit's supported_VLM, nor a SPY-Bench "
        f"built-in name, nor in the model registry {table.registry}.{hint} Register a checkpoint "
        f"with `spy-bench models add {name} PATH`; `spy-bench models list` shows the registry."
    )


def transformers_vlm(**kwargs: Any) -> Any:
    return hf_model.SPYTransformersVLM(**kwargs)


def served_vlm(**kwargs: Any) -> Any:
    return served_model.SPYServedVLM(**kwargs)


CHAT_BUILDERS = frozenset({transformers_vlm, served_vlm})
"""Builders whose models hold multi-turn chats (`chat_inner`), for `SelfMod-` names: their classes are
not looked at during registration, where `hf_model` may still be half-initialised."""


def served_options(entry: ModelEntry) -> dict[str, Any]:
    """`SPYServedVLM` arguments saying how a served entry is served (the server knows it by the entry's name)."""
    if "endpoint" in entry.serve:
        return {"endpoint": entry.serve["endpoint"]}
    return {"serve": entry.serve["engine"], "serve_args": list(entry.serve.get("args", [])), "served_name": entry.name}


def model_builder(entry: ModelEntry) -> Callable[..., Any]:
    """The lazy constructor of an entry; raises ValueError when its class cannot take it."""
    if entry.serve:
        return partial(served_vlm, model_path=entry.path, **served_options(entry), **entry.kwargs)
    if entry.model_class == DEFAULT_CLASS:
        return partial(transformers_vlm, model_path=entry.path, **entry.kwargs)
    vlm = importlib.import_module("vlmeval.vlm")
    cls = getattr(vlm, entry.model_class, None)
    if not isinstance(cls, type):
        raise ValueError(f"field 'class': {entry.model_class!r} is neither {DEFAULT_CLASS} nor a class of vlmeval.vlm")
    try:
        inspect.signature(cls).bind_partial(model_path=entry.path, **entry.kwargs)
    except TypeError as err:
        raise ValueError(f"field 'kwargs': {entry.model_class} does not accept them: {err}") from None
    return partial(cls, model_path=entry.path, **entry.kwargs)


def model_table(config_module: Any) -> ModelTable:
    """`supported_VLM` as a ModelTable, installed on the module (once)."""
    if not isinstance(config_module.supported_VLM, ModelTable):
        config_module.supported_VLM = ModelTable(config_module.supported_VLM, registry_path())
    return config_module.supported_VLM


def register_builtins(table: ModelTable) -> None:
    """Paper spellings alias VLMEvalKit's entries; the rest load their Hugging Face id with our class.

    `<name>-vLLM` serves the checkpoint with `vllm serve` through `SPYServedVLM`.
    """
    for model in BUILTIN_MODELS:
        if model.served_name and model.served_name not in table:
            table[model.served_name] = partial(
                served_vlm,
                model_path=model.served_id or model.hf_id,
                serve="vllm",
                serve_args=list(model.vllm_args),
                served_name=model.name,
                **model.kwargs,
            )
        if model.name in table:
            continue
        if model.vlmeval_name in table:
            table[model.name] = table[model.vlmeval_name]
        elif model.hf_id:
            table[model.name] = partial(transformers_vlm, model_path=model.hf_id, **model.kwargs)


def register_registry(table: ModelTable) -> None:
    """Registry entries override same-named models (e.g. a VLMEvalKit name -> a local copy)."""
    entries, problems = load_registry(table.registry)
    for problem in problems:
        if problem.item is not None:
            table.broken[problem.item] = str(problem)
        warnings.warn(f"SPY-Bench model registry: {problem}; this model is not registered", stacklevel=2)
    for entry in entries:
        try:
            table[entry.name] = model_builder(entry)
        except ValueError as err:
            table.broken[entry.name] = f"{table.registry}: item {entry.name}: {err}"
            warnings.warn(
                f"SPY-Bench model registry: {table.broken[entry.name]}; this model is not registered", stacklevel=2
            )


def register_named_models() -> None:
    table = model_table(importlib.import_module("vlmeval.config"))
    register_builtins(table)
    register_registry(table)
    # After the table replaced `supported_VLM`: `vlmeval.inference` binds it when imported.
    api_inference.install()


register_named_models()
