"""The model registry: local checkpoints that VLMEvalKit evaluates by name (`run.py --model NAME`).

One JSON file, `$SPY_MODELS` if set, else `$XDG_CACHE_HOME/spy_bench/models.json`
(`~/.cache/spy_bench/models.json`):

    {"version": 1,
     "models": {"NAME": {"class": "SPYTransformersVLM", "path": "/abs/checkpoint",
                         "kwargs": {...}, "info": {...}, "added": "2025-01-01T00:00:00+00:00"}}}

`class` is our `SPYTransformersVLM` or a class of `vlmeval.vlm` taking `model_path`; `kwargs`
go to that class; `info` is free-form provenance (trainer, epoch, base model...). `"hub": true`
marks a `path` that is a Hugging Face id rather than a folder.

A served entry (class `SPYServedVLM`) also says how it is served: `"serve": {"engine": "vllm",
"args": ["--tensor-parallel-size", "2"]}` (or `"transformers"`) starts that server for the run;
`"serve": {"endpoint": "http://host:8000/v1"}` uses a running OpenAI-compatible server, and
`path` is then the model's name on that server.

Writers take an exclusive lock on a sibling `.lock` file and replace the file atomically, so
concurrent trainers never lose each other's entries and readers need no lock. Reading never
raises because of one bad entry: `load_registry` returns the valid entries and a list of
problems, so one stale checkpoint cannot break the registration of the others.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..common.atomic import write_json
from ..common.errors import Problem, SpyDataError

REGISTRY_ENV = "SPY_MODELS"
DEFAULT_CLASS = "SPYTransformersVLM"
SERVED_CLASS = "SPYServedVLM"
ENGINES = ("vllm", "transformers", "batched")
"""Servers a run can start: `vllm serve`, `transformers serve`, `vlmeval_spy.models.serving.batched_server`."""
FORMAT_VERSION = 1
# VLMEvalKit puts the name into folder and file names: no separators, nothing exotic.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")
HUB_ID_PATTERN = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
CLASS_PATTERN = re.compile(r"[A-Za-z_]\w*")


@dataclass(frozen=True)
class ModelEntry:
    """One registered model, ready to become a `supported_VLM` entry."""

    name: str
    model_class: str
    path: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    hub: bool = False
    serve: dict[str, Any] = field(default_factory=dict)
    """`{"engine": ..., "args": [...]}` or `{"endpoint": URL}`; empty for a model loaded in-process."""


def registry_path() -> Path:
    """Where the registry lives: `$SPY_MODELS`, else the user's cache folder."""
    if os.environ.get(REGISTRY_ENV):
        return Path(os.environ[REGISTRY_ENV]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "spy_bench" / "models.json"


def check_name(name: str) -> None:
    """Raise ValueError unless `name` can be a VLMEvalKit model name."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"invalid model name {name!r}: use 1-128 letters, digits and . _ + - "
            "(starting with a letter or digit; no '/' since it becomes a folder name)"
        )


def record_checkpoint(name: str, path: str | Path, model_class: str = DEFAULT_CLASS, **info: Any) -> None:
    """Register a finished checkpoint folder under `name` (replacing an entry of that name).

    `info` is stored as provenance, except `model_kwargs` (a dict), which becomes the keyword
    arguments of `model_class` at evaluation (e.g. `{"max_pixels": 1003520}`).
    """
    kwargs = info.pop("model_kwargs", None) or {}
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ValueError(f"cannot register model {name!r}: checkpoint folder {folder} does not exist")
    add_model(name, str(folder.resolve()), model_class, kwargs, info)


def add_model(
    name: str,
    path: str,
    model_class: str = DEFAULT_CLASS,
    kwargs: dict[str, Any] | None = None,
    info: dict[str, Any] | None = None,
    hub: bool = False,
    registry: Path | None = None,
    serve: dict[str, Any] | None = None,
) -> ModelEntry:
    """Validate and store one entry; returns it as stored."""
    check_name(name)
    raw = {
        "class": model_class,
        "path": path,
        "kwargs": kwargs or {},
        "info": _plain_json(info or {}),
        "added": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if hub:
        raw["hub"] = True
    if serve:
        raw["serve"] = serve
    file = registry or registry_path()
    entry = parse_entry(name, raw, str(file))
    if isinstance(entry, list):
        raise SpyDataError(entry)
    with _locked(file):
        models = _read_models_for_update(file)
        models[name] = raw
        _write(file, models)
    return entry


def remove_model(name: str, registry: Path | None = None) -> bool:
    """Drop `name` from the registry; False when it was not there."""
    file = registry or registry_path()
    with _locked(file):
        models = _read_models_for_update(file)
        if name not in models:
            return False
        del models[name]
        _write(file, models)
    return True


def load_registry(registry: Path | None = None) -> tuple[list[ModelEntry], list[Problem]]:
    """The valid entries, and one problem per bad entry (or one for an unreadable file)."""
    file = registry or registry_path()
    try:
        models = _read_models(file)
    except SpyDataError as err:
        return [], err.problems
    entries, problems = [], []
    for name, raw in models.items():
        parsed = parse_entry(name, raw, str(file))
        if isinstance(parsed, list):
            problems.extend(parsed)
        else:
            entries.append(parsed)
    return entries, problems


def parse_entry(name: str, raw: Any, file: str) -> ModelEntry | list[Problem]:
    """An entry, or every problem with it (each naming the file, entry and field)."""

    def problem(message: str, field_name: str | None = None) -> Problem:
        return Problem(file, message, name, field_name)

    try:
        check_name(name)
    except ValueError as err:
        return [problem(str(err))]
    if not isinstance(raw, dict):
        return [problem(f"entry must be a JSON object, got {type(raw).__name__}")]
    cls, path, hub = raw.get("class", DEFAULT_CLASS), raw.get("path"), raw.get("hub", False)
    serve = raw.get("serve", {})
    problems = [problem(message, "serve") for message in serve_problems(serve)]
    if not isinstance(cls, str) or not CLASS_PATTERN.fullmatch(cls):
        problems.append(problem(f"must be a class name, got {cls!r}", "class"))
    elif serve and cls != SERVED_CLASS:
        problems.append(problem(f"a served model's class is {SERVED_CLASS}, got {cls!r}", "class"))
    if not isinstance(hub, bool):
        problems.append(problem(f"must be true or false, got {hub!r}", "hub"))
    if not isinstance(path, str) or not path:
        problems.append(problem("missing, or not a non-empty string", "path"))
    elif isinstance(serve, dict) and "endpoint" in serve:
        pass  # the model's name on the endpoint's server: nothing local to check
    elif hub is True and not HUB_ID_PATTERN.fullmatch(path):
        problems.append(problem(f"{path!r} is not a Hugging Face id (ORG/NAME)", "path"))
    elif hub is not True and not Path(path).is_dir():
        problems.append(problem(f"checkpoint folder {path} does not exist", "path"))
    for key in ("kwargs", "info"):
        if not isinstance(raw.get(key, {}), dict):
            problems.append(problem("must be a JSON object", key))
    if isinstance(raw.get("kwargs"), dict) and "model_path" in raw["kwargs"]:
        problems.append(problem("must not set model_path (that is the entry's 'path')", "kwargs"))
    if problems:
        return problems
    return ModelEntry(name, cls, path, dict(raw.get("kwargs", {})), dict(raw.get("info", {})), hub, dict(serve))


def serve_problems(serve: Any) -> list[str]:
    """What is wrong with an entry's `serve` object (nothing for a valid or absent one)."""
    if not isinstance(serve, dict):
        return ["must be a JSON object"]
    if not serve:
        return []
    if ("engine" in serve) == ("endpoint" in serve):
        return ['needs exactly one of "engine" (vllm or transformers) and "endpoint" (a URL)']
    unknown = sorted(set(serve) - {"engine", "args", "endpoint"})
    if unknown:
        return [f"unknown key(s) {', '.join(unknown)}"]
    if "endpoint" in serve:
        url = serve["endpoint"]
        if not isinstance(url, str) or not re.match(r"https?://[^\s/]+", url):
            return [f"endpoint must be an http(s) URL, got {url!r}"]
        return ['"args" are for a server started by the run, not an endpoint'] if "args" in serve else []
    if serve["engine"] not in ENGINES:
        return [f"engine must be one of {', '.join(ENGINES)}, got {serve['engine']!r}"]
    args = serve.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        return ['"args" must be a list of strings (command-line arguments of the server)']
    return []


@contextmanager
def _locked(file: Path) -> Iterator[None]:
    """Serialise read-modify-write cycles across processes (POSIX advisory lock)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    with open(file.with_name(file.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_models(file: Path) -> dict[str, Any]:
    """The `models` object of the file ({} when there is no file yet)."""
    if not file.exists():
        return {}
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SpyDataError([Problem(str(file), f"not a readable JSON file: {err}")]) from err
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise SpyDataError([Problem(str(file), 'must be a JSON object with a "models" object', field="models")])
    if data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
        raise SpyDataError(
            [
                Problem(
                    str(file),
                    f"format version {data.get('version')!r} is not supported "
                    f"(this code reads version {FORMAT_VERSION})",
                    field="version",
                )
            ]
        )
    return data["models"]


def _read_models_for_update(file: Path) -> dict[str, Any]:
    """Like `_read_models`, but an unreadable file stops the update instead of being overwritten."""
    try:
        return _read_models(file)
    except SpyDataError as err:
        raise SpyDataError([*err.problems, Problem(str(file), "fix or delete it before registering models")]) from err


def _write(file: Path, models: dict[str, Any]) -> None:
    write_json(file, {"version": FORMAT_VERSION, "models": dict(sorted(models.items()))})


def _plain_json(info: dict[str, Any]) -> dict[str, Any]:
    """Provenance as plain JSON: paths and other objects become strings."""
    return json.loads(json.dumps(info, default=str))
