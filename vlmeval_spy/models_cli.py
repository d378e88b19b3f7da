"""`spy-bench models add|list|remove`: manage the model registry that `run.py --model NAME` reads."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import SpyDataError
from .model_names import BUILTIN_MODELS
from .model_registry import DEFAULT_CLASS, HUB_ID_PATTERN, add_model, load_registry, registry_path, remove_model


def cmd_models_add(args: argparse.Namespace) -> None:
    kwargs = _kwargs_object(args.kwargs)
    path = args.path
    if args.hub:
        if not HUB_ID_PATTERN.fullmatch(path):
            raise SystemExit(f"spy-bench models add: {path!r} is not a Hugging Face id (ORG/NAME)")
    elif Path(path).expanduser().is_dir():
        path = str(Path(path).expanduser().resolve())
    else:
        hint = " (add --hub if it is a Hugging Face id)" if HUB_ID_PATTERN.fullmatch(path) else ""
        raise SystemExit(f"spy-bench models add: checkpoint folder {path} does not exist{hint}")
    try:
        add_model(args.name, path, args.model_class, kwargs, {"source": "spy-bench models add"}, hub=args.hub)
    except ValueError as err:  # SpyDataError included
        raise SystemExit(f"spy-bench models add: {err}") from None
    print(f"registered {args.name} -> {path} ({args.model_class}) in {registry_path()}")


def cmd_models_list(args: argparse.Namespace) -> None:
    entries, problems = load_registry()
    print(f"registry {registry_path()}:")
    rows = [(e.name, e.model_class, e.path + (" (hub)" if e.hub else "")) for e in entries]
    _print_table(rows or [("(empty)", "", "")])
    for problem in problems:
        print(f"broken: {problem}", file=sys.stderr)
    if args.builtin:
        print("\nbuilt-in names:")
        _print_table([(m.name, "VLMEvalKit " + m.vlmeval_name if m.vlmeval_name else DEFAULT_CLASS,
                       m.hf_id or "") for m in BUILTIN_MODELS])


def cmd_models_remove(args: argparse.Namespace) -> None:
    try:
        removed = remove_model(args.name)
    except SpyDataError as err:
        raise SystemExit(f"spy-bench models remove: {err}") from None
    if not removed:
        raise SystemExit(f"spy-bench models remove: no model {args.name!r} in {registry_path()}")
    print(f"removed {args.name} from {registry_path()}")


def _kwargs_object(text: str | None) -> dict:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise SystemExit(f"spy-bench models add: --kwargs is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise SystemExit("spy-bench models add: --kwargs must be a JSON object, e.g. '{\"max_pixels\": 1003520}'")
    return value


def _print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def add_models_parser(sub: argparse._SubParsersAction) -> None:
    """The `models` command group, for `spy-bench`'s parser."""
    models = sub.add_parser("models", help="register checkpoints for `run.py --model NAME`",
                            description=f"The model registry: $SPY_MODELS, else {registry_path()} here.")
    actions = models.add_subparsers(dest="models_command", required=True)

    p = actions.add_parser("add", help="register a local checkpoint (replaces an entry of the same name)")
    p.add_argument("name", help="the name for --model (letters, digits, . _ + -)")
    p.add_argument("path", help="checkpoint folder (or a Hugging Face id with --hub)")
    p.add_argument("--class", dest="model_class", default=DEFAULT_CLASS,
                   help=f"{DEFAULT_CLASS} (default: any transformers image-text-to-text checkpoint, CPU or GPU) "
                        "or a vlmeval.vlm class taking model_path, e.g. Qwen2VLChat (GPU, flash-attn)")
    p.add_argument("--kwargs", help="JSON object of class arguments, e.g. '{\"max_pixels\": 1003520}'")
    p.add_argument("--hub", action="store_true", help="PATH is a Hugging Face id, not a folder")
    p.set_defaults(func=cmd_models_add)

    p = actions.add_parser("list", help="show registered models (and, with --builtin, the built-in names)")
    p.add_argument("--builtin", action="store_true", help="also list the paper's models and SPY checkpoints")
    p.set_defaults(func=cmd_models_list)

    p = actions.add_parser("remove", help="drop a model from the registry")
    p.add_argument("name")
    p.set_defaults(func=cmd_models_remove)
