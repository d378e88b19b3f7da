"""`spy-align`: train a VLM on SPY-Tune with SFT, DPO, NCA or NCA-P.

    spy-align {sft,dpo,nca,ncap} --config recipe.yaml [--option value ...]
    spy-align config-path [NAME]        # path of a shipped recipe, accelerate YAML or DeepSpeed JSON

Training runs in this process, so the same command works under `accelerate launch` and
`torchrun` (`-m spy_align.scripts.METHOD`, or `-m spy_align METHOD`).
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from vlmeval_spy.errors import Problem, SpyDataError

if TYPE_CHECKING:
    from trl import TrlParser

METHODS = {
    "sft": "supervised fine-tuning on the target answers",
    "dpo": "DPO (sigmoid loss) on preference pairs",
    "nca": "NCA (nca_pair loss) on preference pairs",
    "ncap": "NCA-P: NCA on the non-private and the private pair of each question",
}
CONFIG_PACKAGES = ("spy_align.recipes", "spy_align.accelerate")
CONFIG_SUFFIXES = (".yaml", ".json")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spy-align", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, text in METHODS.items():
        commands.add_parser(name, help=text, add_help=False)
    configs = commands.add_parser("config-path", help="print the path of a shipped recipe or launch config")
    configs.add_argument(
        "name",
        nargs="?",
        help="e.g. qwen2vl_ncap (recipe), zero2 (accelerate), ds_zero2 (--deepspeed); without it, list them all",
    )
    return parser


def config_paths() -> dict[str, str]:
    """Shipped recipes and launch configs by name (file name without suffix)."""
    entries = [entry for package in CONFIG_PACKAGES for entry in resources.files(package).iterdir()]
    return {entry.name.rsplit(".", 1)[0]: str(entry) for entry in entries if entry.name.endswith(CONFIG_SUFFIXES)}


def cmd_config_path(name: str | None) -> int:
    paths = config_paths()
    if name is None:
        print("\n".join(f"{key}\t{path}" for key, path in sorted(paths.items())))
        return 0
    if name not in paths:
        print(f"spy-align config-path: unknown config {name!r} (shipped: {', '.join(sorted(paths))})", file=sys.stderr)
        return 2
    print(paths[name])
    return 0


def run_script(name: str, argv: list[str]) -> int:
    """Parse, check and train; a user's mistake ends with exit 2 and one message, before any model loads."""
    script = importlib.import_module(f"spy_align.scripts.{name}")
    try:
        parsed = parse_arguments(script.make_parser(prog=f"spy-align {name}"), argv)
        script.main(*parsed)
    except SpyDataError as err:
        print(f"spy-align {name}: {err}", file=sys.stderr)
        return 2
    return 0


def parse_arguments(parser: TrlParser, argv: list[str]) -> tuple:
    """The recipe and the command line as the parser's dataclasses.

    Raises `SpyDataError` listing every unknown recipe key and flag, or the first invalid value
    (a typo'd `loss_type`, say), instead of a traceback.
    """
    problems = unknown_options(parser, argv)
    if problems:
        raise SpyDataError(problems)
    try:
        return parser.parse_args_and_config(argv)
    except (ValueError, OSError, yaml.YAMLError) as err:
        raise SpyDataError([Problem("arguments", str(err))]) from None


def unknown_options(parser: TrlParser, argv: list[str]) -> list[Problem]:
    """Recipe keys and command-line flags that no option of `parser` takes, with close matches."""
    flags = {flag for action in parser._actions for flag in action.option_strings}
    names = sorted(flag.removeprefix("--") for flag in flags if flag.startswith("--"))
    args = list(argv)
    problems = []
    if "--config" in args:
        at = args.index("--config")
        recipe = args[at + 1] if at + 1 < len(args) else ""
        del args[at : at + 2]
        problems += [
            Problem(recipe, "unknown key" + _hint(key, names, ""), field=key) for key in _recipe_keys(recipe, names)
        ]
    for arg in args:
        flag = arg.split("=", 1)[0]
        if flag.startswith("--") and flag not in flags:
            problems.append(Problem("command line", f"unknown option {flag}" + _hint(flag[2:], names, "--")))
    return problems


def _recipe_keys(recipe: str, names: list[str]) -> list[str]:
    """The recipe's keys that no option takes (`env` is TRL's: environment variables)."""
    try:
        config = yaml.safe_load(Path(recipe).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise SpyDataError([Problem(recipe or "--config", f"cannot read the recipe: {err}")]) from None
    if not isinstance(config, dict):
        raise SpyDataError([Problem(recipe, "a recipe must be a YAML mapping of option: value")])
    return [str(key) for key in config if str(key) not in names and key != "env"]


def _hint(name: str, names: list[str], prefix: str) -> str:
    close = difflib.get_close_matches(name, names, n=1)
    return (f"; did you mean {prefix}{close[0]}?" if close else "") + " (`--help` lists the options)"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv[:1] and argv[0] in METHODS:
        return run_script(argv[0], argv[1:])
    args = parser.parse_args(argv)
    if args.command == "config-path":
        return cmd_config_path(args.name)
    parser.print_help()
    return 0
