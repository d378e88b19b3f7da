"""`run.py`'s command-line options as its argparse parser reads them, abbreviations included.

argparse takes any prefix of a long option that names one option only (`--judge-k` and
`--judge-ke` for `--judge-key`) and `--option=value`. Code that looks for an option in `sys.argv`
itself (the keys to mask, the work dir) must read it the same way, from the options of the
`run.py` that is running (the wheel's `vlmeval.run` or a checkout's `run.py`; the located one
when this process is not a run): they are read from its source, without running it. When they
cannot be read, an option is only ever read by its full name, and a warning says so once.
"""

from __future__ import annotations

import ast
import functools
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from ..common.errors import SpyDataError
from .run_command import locate_run_py


class UnreadableRunOptionsWarning(UserWarning):
    """The options of `run.py` could not be read: abbreviated flags are not recognised."""


def running_run_py() -> Path | None:
    """The `run.py` this process runs (`__main__`, as python, runpy and torchrun set it), else the located one."""
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    if main and Path(main).name == "run.py":
        return Path(main)
    try:
        return locate_run_py().path
    except SpyDataError:
        return None


def run_py_options() -> frozenset[str]:
    """Every option string the running `run.py` declares (`--data`, `--judge-key`, ...); empty, with one
    warning, when it cannot be read."""
    path = running_run_py()
    options = _declared_options(path) if path else frozenset()
    if not options:
        _warn_unreadable(str(path) if path else "VLMEvalKit's run.py (not found)")
    return options


@functools.cache
def _declared_options(path: Path) -> frozenset[str]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return frozenset()
    return frozenset(
        arg.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument"
        for arg in node.args
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith("-")
    )


@functools.cache
def _warn_unreadable(where: str) -> None:
    warnings.warn(
        f"SPY-Bench cannot read run.py's options from {where}: only full option names (--judge-key, --key) "
        "are recognised on the command line; an abbreviated flag's value would not be masked",
        UnreadableRunOptionsWarning,
        stacklevel=4,
    )


def could_be(arg: str, option: str, options: frozenset[str]) -> bool:
    """Whether argparse may read command-line word `arg` as `option`: the option itself, or a prefix of
    it that is not another option's full name. An ambiguous prefix counts: argparse then stops with an
    error, and treating it as `option` only errs on the side of caution. Without `options` (unreadable),
    only the full name counts: guessing would read other options (`--judge`) as this one."""
    flag = arg.split("=", 1)[0]
    if flag == option:
        return True
    if not options:
        return False
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


def flag_given(argv: Sequence[str], flag: str) -> bool:
    """Whether a flag without a value (`--api-mode`) is in `argv`, however argparse accepts it."""
    options = run_py_options()
    return any(arg.startswith("--") and could_be(arg, flag, options) for arg in argv[1:])


def run_work_dir(argv: list[str] | None = None) -> Path:
    """The `--work-dir` of the running `run.py`, however argparse accepts it (`--work=/w`), the
    last one given winning as in argparse; VLMEvalKit's default `./outputs` otherwise."""
    given = option_values(sys.argv if argv is None else argv, ("--work-dir",))
    return Path(given[-1] if given else os.environ.get("MMEVAL_ROOT") or "outputs")
