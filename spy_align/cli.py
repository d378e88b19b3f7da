"""`spy-align`: train a VLM on SPY-Tune with SFT, DPO, NCA or NCA-P.

    spy-align {sft,dpo,nca,ncap} --config recipe.yaml [--option value ...]
    spy-align config-path [NAME]        # path of a shipped recipe, accelerate YAML or DeepSpeed JSON

Training runs in this process, so the same command works under `accelerate launch` and
`torchrun` (`-m spy_align.scripts.METHOD`, or `-m spy_align METHOD`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib import resources

from vlmeval_spy.errors import SpyDataError

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
    configs.add_argument("name", nargs="?", help="e.g. qwen2vl_ncap (recipe), zero2 (accelerate), ds_zero2 "
                                                  "(--deepspeed); without it, list them all")
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
        print(f"spy-align config-path: unknown config {name!r} (shipped: {', '.join(sorted(paths))})",
              file=sys.stderr)
        return 2
    print(paths[name])
    return 0


def run_script(name: str, argv: list[str]) -> int:
    script = importlib.import_module(f"spy_align.scripts.{name}")
    parsed = script.make_parser(prog=f"spy-align {name}").parse_args_and_config(argv)
    try:
        script.main(*parsed)
    except SpyDataError as err:
        print(f"spy-align {name}: {err}", file=sys.stderr)
        return 2
    return 0


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
