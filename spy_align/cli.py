"""`spy-align`: train a VLM on SPY-Tune with SFT, DPO, NCA or NCA-P.

    spy-align {sft,dpo,nca,ncap} --config recipe.yaml [--option value ...]
    spy-align config-path [NAME]        # path of a shipped recipe, accelerate YAML or DeepSpeed JSON
    spy-align tune-mini DIR             # SPY-Tune-Mini, to try training on a CPU (docs/loop.md)

Training runs in this process, so the same command works under `accelerate launch` and
`torchrun` (`-m spy_align.scripts.METHOD`, or `-m spy_align METHOD`).
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import sys
import tempfile
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from vlmeval_spy.common import exit_status
from vlmeval_spy.common.errors import Problem, SpyDataError

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
COMMAND_LINE = "command line"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spy-align", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, text in METHODS.items():
        commands.add_parser(name, help=text, add_help=False)
    mini = commands.add_parser("tune-mini", help="write SPY-Tune-Mini (train, eval, label texts, pictures) to a folder")
    mini.add_argument("out", type=Path, help="folder to write; pass it as --images_root too")
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
    """Parse, check and train; a user's mistakes end with exit 2 and one message listing them all, before any
    model loads."""
    script = importlib.import_module(f"spy_align.scripts.{name}")
    try:
        parsed, problems = parse_arguments(script.make_parser(prog=f"spy-align {name}"), argv)
        if problems:
            raise SpyDataError(problems + (input_problems(*parsed) if parsed else []))
        script.main(*parsed)
    except SpyDataError as err:
        print(f"spy-align {name}: {err}", file=sys.stderr)
        return exit_status.BAD_INPUT
    return exit_status.OK


@dataclass(frozen=True)
class Given:
    """One option as the user gave it: a recipe key or a command-line flag, and its value(s)."""

    where: str
    """The recipe's path, or "command line"."""
    key: str
    value: Any
    words: tuple[str, ...] = ()
    """The command-line words that gave it (none for a recipe key)."""


def parse_arguments(parser: TrlParser, argv: list[str]) -> tuple[tuple | None, list[Problem]]:
    """The recipe and the command line as the parser's dataclasses, and every problem with them.

    Each unknown recipe key and flag (with close matches) and each value the option does not take (a
    typo'd `loss_type`, a `dtype` outside its choices, a number that is not one, one out of its range or
    a logger that is not installed: `value_rules`) is listed; the rest is
    parsed without them, so that what else is wrong with it (a value its dataclass refuses) joins the
    same list. The dataclasses are None when even the rest cannot be parsed.
    """
    recipe, given = given_options(argv)
    # A recipe key is an option's `dest`; a flag is any of its option strings (`--no_distractors` included).
    flags = {flag[2:]: action for action in parser._actions for flag in action.option_strings if flag[:2] == "--"}
    keys = {action.dest: action for action in flags.values()}
    names = sorted(flags)
    problems, usable = [], []
    config = next((t for t in parser.dataclass_types if "loss_type" in getattr(t, "__dataclass_fields__", {})), None)
    for option in given:
        action = (flags if option.where == COMMAND_LINE else keys).get(option.key)
        problem = _unknown(option, names) if action is None else _invalid(option, action, config)
        if problem is None:
            usable.append(option)
        else:
            problems.append(problem)
    try:
        with _usable_argv(recipe, usable) as args:
            parsed = parser.parse_args_and_config(args)
    except (ValueError, OSError, yaml.YAMLError) as err:
        return None, [*problems, Problem("arguments", str(err))]
    return parsed, problems


def input_problems(script_args: Any, training_args: Any, model_args: Any) -> list[Problem]:
    """What is wrong with the files and folders the arguments name (model, data, images, checkpoint)."""
    from .training import load_inputs

    try:
        load_inputs(script_args, training_args, model_args)
    except SpyDataError as err:
        return err.problems
    return []


def given_options(argv: list[str]) -> tuple[str | None, list[Given]]:
    """The recipe path and every option given, recipe keys first, as `key: value` (command-line values are
    strings, lists for several words, None for a bare flag)."""
    args, recipe, given = list(argv), None, []
    if "--config" in args:
        at = args.index("--config")
        recipe = args[at + 1] if at + 1 < len(args) else ""
        del args[at : at + 2]
        given += [Given(recipe, str(key), value) for key, value in _read_recipe(recipe).items() if key != "env"]
    i = 0
    while i < len(args):
        flag, eq, value = args[i].partition("=")
        words = [args[i]]
        if not eq:
            while i + len(words) < len(args) and not args[i + len(words)].startswith("--"):
                words.append(args[i + len(words)])
        values = [value] if eq else words[1:]
        if flag.startswith("--"):
            given.append(Given(COMMAND_LINE, flag[2:], values[0] if len(values) == 1 else values or None, tuple(words)))
        i += len(words)
    return recipe, given


def _unknown(option: Given, names: list[str]) -> Problem:
    if option.where == COMMAND_LINE:
        return Problem(COMMAND_LINE, f"unknown option --{option.key}" + _hint(option.key, names, "--"))
    return Problem(option.where, "unknown key" + _hint(option.key, names, ""), field=option.key)


def _invalid(option: Given, action: argparse.Action, config: type | None) -> Problem | None:
    """Why `option`'s value is not one its option takes: its type, its choices, the loss types of `config`."""
    from .configs import check_loss_types  # imports TRL: only once a training command runs
    from .value_rules import reporting_integrations, value_problem

    values = option.value if isinstance(option.value, list) else [option.value]
    try:
        typed = [action.type(v) if action.type and isinstance(v, str) else v for v in values if v is not None]
        if option.key == "loss_type":
            check_loss_types(typed, config)
    except (ValueError, TypeError, argparse.ArgumentTypeError) as err:
        return Problem(option.where, f"invalid value {option.value!r}: {err}", field=option.key)
    wrong = [v for v in typed if action.choices and v not in action.choices]
    if wrong:
        choices = ", ".join(map(str, action.choices))
        return Problem(option.where, f"invalid value {wrong[0]!r} (choose from {choices})", field=option.key)
    why = value_problem(option.key, typed, reporting_integrations)
    if why is not None:
        return Problem(option.where, f"invalid value {option.value!r}: {why}", field=option.key)
    return None


@contextmanager
def _usable_argv(recipe: str | None, usable: list[Given]):
    """Command-line words for the usable options, with a copy of the recipe that holds only its usable keys."""
    words = [word for option in usable for word in option.words]
    if recipe is None:
        yield words
        return
    kept = {option.key: option.value for option in usable if option.where == recipe}
    original = _read_recipe(recipe)
    if "env" in original:
        kept["env"] = original["env"]
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder, "recipe.yaml")
        copy.write_text(yaml.safe_dump(kept), encoding="utf-8")
        yield ["--config", str(copy), *words]


def _read_recipe(recipe: str) -> dict:
    try:
        config = yaml.safe_load(Path(recipe).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise SpyDataError([Problem(recipe or "--config", f"cannot read the recipe: {err}")]) from None
    if not isinstance(config, dict):
        raise SpyDataError([Problem(recipe, "a recipe must be a YAML mapping of option: value")])
    return config


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
    if args.command == "tune-mini":
        from .tune_mini import write_tune_mini

        print("\n".join(f"wrote {path}" for path in write_tune_mini(args.out)))
        return exit_status.OK
    parser.print_help()
    return 0
