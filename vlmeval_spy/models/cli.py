"""`spy-bench models add|list|remove`: manage the model registry that `run.py --model NAME` reads."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any, NoReturn

from ..common.errors import SpyDataError
from .names import BUILTIN_MODELS
from .registry import (
    DEFAULT_CLASS,
    ENGINES,
    HUB_ID_PATTERN,
    SERVED_CLASS,
    add_model,
    load_registry,
    registry_path,
    remove_model,
)

USAGE_ERROR = 2
"""Exit code for a user's mistake, as in every `spy-bench` command."""


def fail(command: str, message: str) -> NoReturn:
    """Print `spy-bench models COMMAND: message` and exit with the usage-error code (no traceback)."""
    print(f"spy-bench models {command}: {message}", file=sys.stderr)
    raise SystemExit(USAGE_ERROR)


def cmd_models_add(args: argparse.Namespace) -> None:
    kwargs = _kwargs_object(args.kwargs)
    serve = _serve_object(args)
    path = args.path if "endpoint" in serve else _checkpoint_path(args.path, args.hub)
    model_class = SERVED_CLASS if serve else args.model_class
    if serve and args.model_class != DEFAULT_CLASS:
        fail("add", f"--serve/--endpoint evaluate through {SERVED_CLASS}; leave out --class")
    try:
        add_model(args.name, path, model_class, kwargs, {"source": "spy-bench models add"}, hub=args.hub, serve=serve)
    except ValueError as err:  # SpyDataError included
        fail("add", str(err))
    how = f", served by {serve.get('engine') or serve['endpoint']}" if serve else ""
    print(f"registered {args.name} -> {path} ({model_class}{how}) in {registry_path()}")


def _checkpoint_path(path: str, hub: bool) -> str:
    if hub:
        if not HUB_ID_PATTERN.fullmatch(path):
            fail("add", f"{path!r} is not a Hugging Face id (ORG/NAME)")
        return path
    if Path(path).expanduser().is_dir():
        return str(Path(path).expanduser().resolve())
    hint = " (add --hub if it is a Hugging Face id)" if HUB_ID_PATTERN.fullmatch(path) else ""
    fail("add", f"checkpoint folder {path} does not exist{hint}")


def _serve_object(args: argparse.Namespace) -> dict[str, Any]:
    """The entry's `serve` object from --serve/--endpoint/--engine-args/--tensor-parallel-size."""
    engine_args = shlex.split(args.engine_args or "")
    if args.tensor_parallel_size is not None:
        engine_args += ["--tensor-parallel-size", str(args.tensor_parallel_size)]
    if args.endpoint is not None:
        if args.serve is not None or engine_args:
            fail(
                "add",
                "--endpoint uses a running server: --serve, --engine-args and --tensor-parallel-size "
                "are for a server the run starts",
            )
        return {"endpoint": args.endpoint}
    if args.serve is None:
        if engine_args:
            fail("add", "--engine-args and --tensor-parallel-size need --serve (vllm, transformers or batched)")
        return {}
    if args.tensor_parallel_size is not None and args.serve != "vllm":
        fail("add", "--tensor-parallel-size is a vLLM engine argument: use it with --serve vllm")
    return {"engine": args.serve, "args": engine_args} if engine_args else {"engine": args.serve}


def cmd_models_list(args: argparse.Namespace) -> None:
    entries, problems = load_registry()
    print(f"registry {registry_path()}:")
    rows = [(e.name, e.model_class + _served_by(e.serve), e.path + (" (hub)" if e.hub else "")) for e in entries]
    _print_table(rows or [("(empty)", "", "")])
    for problem in problems:
        print(f"broken: {problem}", file=sys.stderr)
    if args.builtin:
        print("\nbuilt-in names:")
        rows = [
            (m.name, "VLMEvalKit " + m.vlmeval_name if m.vlmeval_name else DEFAULT_CLASS, m.hf_id or "")
            for m in BUILTIN_MODELS
        ]
        rows += [
            (m.served_name, f"{SERVED_CLASS} (vllm)", m.served_id or m.hf_id or "")
            for m in BUILTIN_MODELS
            if m.served_name
        ]
        _print_table(rows)


def _served_by(serve: dict[str, Any]) -> str:
    if not serve:
        return ""
    return f" ({serve['engine']})" if "engine" in serve else f" ({serve['endpoint']})"


def cmd_models_remove(args: argparse.Namespace) -> None:
    try:
        removed = remove_model(args.name)
    except SpyDataError as err:
        fail("remove", str(err))
    if not removed:
        fail("remove", f"no model {args.name!r} in {registry_path()}")
    print(f"removed {args.name} from {registry_path()}")


def _kwargs_object(text: str | None) -> dict:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        fail("add", f"--kwargs is not valid JSON: {err}")
    if not isinstance(value, dict):
        fail("add", "--kwargs must be a JSON object, e.g. '{\"max_pixels\": 1003520}'")
    return value


def _print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def add_models_parser(sub: argparse._SubParsersAction) -> None:
    """The `models` command group, for `spy-bench`'s parser."""
    models = sub.add_parser(
        "models",
        help="register checkpoints for `run.py --model NAME`",
        description=f"The model registry: $SPY_MODELS, else {registry_path()} here.",
    )
    actions = models.add_subparsers(dest="models_command", required=True)

    p = actions.add_parser("add", help="register a local checkpoint (replaces an entry of the same name)")
    p.add_argument("name", help="the name for --model (letters, digits, . _ + -)")
    p.add_argument("path", help="checkpoint folder (or a Hugging Face id with --hub)")
    p.add_argument(
        "--class",
        dest="model_class",
        default=DEFAULT_CLASS,
        help=f"{DEFAULT_CLASS} (default: any transformers image-text-to-text checkpoint, CPU or GPU) "
        "or a vlmeval.vlm class taking model_path, e.g. Qwen2VLChat (GPU, flash-attn)",
    )
    p.add_argument("--kwargs", help="JSON object of class arguments, e.g. '{\"max_pixels\": 1003520}'")
    p.add_argument("--hub", action="store_true", help="PATH is a Hugging Face id, not a folder")
    p.add_argument(
        "--serve",
        choices=ENGINES,
        help=f"answer through a server started for each run ({SERVED_CLASS}): `vllm serve` (GPU, batched), "
        "`transformers serve` (CPU too, one request at a time) or `batched` "
        "(vlmeval_spy.models.serving.batched_server: transformers with concurrent requests batched, CPU or GPU)",
    )
    p.add_argument(
        "--engine-args", help="more command-line arguments for the server, e.g. --engine-args='--max-model-len 8192'"
    )
    p.add_argument("--tensor-parallel-size", type=int, help="vLLM: GPUs per model copy (--serve vllm)")
    p.add_argument(
        "--endpoint",
        help="a running OpenAI-compatible server, e.g. http://host:8000/v1; PATH is the model's name on it",
    )
    p.set_defaults(func=cmd_models_add)

    p = actions.add_parser("list", help="show registered models (and, with --builtin, the built-in names)")
    p.add_argument("--builtin", action="store_true", help="also list the paper's models and SPY checkpoints")
    p.set_defaults(func=cmd_models_list)

    p = actions.add_parser("remove", help="drop a model from the registry")
    p.add_argument("name")
    p.set_defaults(func=cmd_models_remove)
