"""How VLMEvalKit's `run.py` starts here: the one answer every launcher uses.

The PyPI wheel (`ms-vlmeval`) packages it as the module `vlmeval.run` (`python -m vlmeval.run`);
a source checkout has `run.py` at its root, beside the `vlmeval` package, and no such module
(`python run.py`, or `torchrun ... run.py`). `$SPY_RUN_PY` names the file where neither is found
(e.g. a checkout installed without `-e`, whose package no longer sits beside its `run.py`).
Nothing here imports VLMEvalKit: the package is only located.
"""

from __future__ import annotations

import importlib.util
import os
import runpy
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..common.errors import Problem, SpyDataError

RUN_PY_ENV = "SPY_RUN_PY"
"""A `run.py` the user names; it wins over the one found beside the installed `vlmeval`."""
RUN_MODULE = "vlmeval.run"


@dataclass(frozen=True)
class RunPy:
    """VLMEvalKit's `run.py`: the file, and the module name it runs as (None for a script)."""

    path: Path
    module: str | None

    def command(self, python: str = sys.executable) -> list[str]:
        """The command line that starts it with `python`, before its own arguments."""
        return [python, "-m", self.module] if self.module else [python, str(self.path)]

    def run_here(self, args: Sequence[str]) -> None:
        """Run it in this process as `__main__` with `args`, as the command line would start it."""
        if self.module:
            sys.argv = [self.module, *args]
            runpy.run_module(self.module, run_name="__main__", alter_sys=True)
        else:  # as `python run.py` starts it: its folder first on the path, its path as argv[0]
            sys.argv = [str(self.path), *args]
            sys.path.insert(0, str(self.path.parent))
            runpy.run_path(str(self.path), run_name="__main__")

    def __str__(self) -> str:
        return f"python -m {self.module}" if self.module else f"python {self.path}"


def locate_run_py(given: str | os.PathLike | None = None) -> RunPy:
    """The `run.py` of the installed VLMEvalKit: `given`, else `$SPY_RUN_PY`, else the wheel's
    `vlmeval.run`, else a checkout's `run.py` beside the `vlmeval` package. Raises SpyDataError
    (exit status 2) naming what was looked for when there is none."""
    given = given or os.environ.get(RUN_PY_ENV)
    if given:
        path = Path(given).expanduser().resolve()
        if not path.is_file():
            raise SpyDataError([Problem(str(path), f"no such file (from {RUN_PY_ENV} or --run-py)")])
        return RunPy(path, None)
    package = _vlmeval_package()
    if (package / "run.py").is_file():
        return RunPy(package / "run.py", RUN_MODULE)
    if (package.parent / "run.py").is_file():
        return RunPy(package.parent / "run.py", None)
    message = (
        f"VLMEvalKit's run.py is neither {package / 'run.py'} (the PyPI wheel) nor {package.parent / 'run.py'} "
        f"(a source checkout installed with pip install -e); name it with {RUN_PY_ENV}=/path/to/VLMEvalKit/run.py"
    )
    raise SpyDataError([Problem(str(package), message)])


def _vlmeval_package() -> Path:
    spec = importlib.util.find_spec("vlmeval")  # a top-level package: found, not imported
    if spec is None or not spec.submodule_search_locations:
        raise SpyDataError([Problem("vlmeval", "VLMEvalKit is not installed in this environment")])
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def run_args(data: Sequence[str], models: Sequence[str], work_dir: str | Path, *extra: str) -> list[str]:
    """`run.py`'s arguments: the datasets, the models and the work dir, then `extra` as given (no `--data`
    or `--model` when there is none: a `--config` file in `extra` names them)."""
    named = [*(["--data", *data] if data else []), *(["--model", *models] if models else [])]
    return [*named, "--work-dir", str(work_dir), *extra]


def run_command(data: Sequence[str], models: Sequence[str], work_dir: str | Path, *extra: str) -> list[str]:
    """The installed VLMEvalKit's `run.py` with `run_args`, by this interpreter."""
    return [*locate_run_py().command(), *run_args(data, models, work_dir, *extra)]
