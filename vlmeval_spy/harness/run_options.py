"""`run.py`'s command-line options as its argparse parser reads them, abbreviations included.

argparse takes any prefix of a long option that names one option only (`--judge-k` and
`--judge-ke` for `--judge-key`) and `--option=value`. Code that looks for an option in `sys.argv`
itself (the keys to mask, the work dir) must read it the same way, from the options `run.py`
really declares: they are read from its source, without running it.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path


@functools.cache
def run_py_options() -> frozenset[str]:
    """Every option string `run.py` declares (`--data`, `--judge-key`, ...); empty when it cannot be read."""
    try:
        spec = importlib.util.find_spec("vlmeval.run")
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    except (ImportError, AttributeError, TypeError, OSError, SyntaxError, ValueError):
        return frozenset()
    return frozenset(
        arg.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument"
        for arg in node.args
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith("-")
    )


def could_be(arg: str, option: str, options: frozenset[str]) -> bool:
    """Whether argparse may read command-line word `arg` as `option`: the option itself, or a prefix of
    it that is not another option's full name. An ambiguous prefix counts: argparse then stops with an
    error, and treating it as `option` only errs on the side of caution."""
    flag = arg.split("=", 1)[0]
    if flag == option:
        return True
    return flag.startswith("--") and len(flag) > 2 and option.startswith(flag) and flag not in options


def option_values(argv: Sequence[str], wanted: Sequence[str], options: frozenset[str] | None = None) -> list[str]:
    """The values given to any of `wanted` in `argv` (`--option VALUE` or `--option=VALUE`, abbreviated or not)."""
    options = run_py_options() if options is None else options
    found = []
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if not arg.startswith("--") or not any(could_be(arg, option, options) for option in wanted):
            continue
        if "=" in arg:
            found.append(arg.split("=", 1)[1])
        elif i + 1 < len(argv):
            found.append(argv[i + 1])
    return found


def run_work_dir(argv: list[str] | None = None) -> Path:
    """The `--work-dir` of the running `run.py`, however argparse accepts it (`--work=/w`), the
    last one given winning as in argparse; VLMEvalKit's default `./outputs` otherwise."""
    given = option_values(sys.argv if argv is None else argv, ("--work-dir",))
    return Path(given[-1] if given else os.environ.get("MMEVAL_ROOT") or "outputs")
