"""Registers SPY-Bench into VLMEvalKit when VLMEvalKit imports its own registries.

Imported at interpreter start by the `vlmeval_spy_hook.pth` file the package installs, so it
must be cheap and must never raise: it only puts a finder on `sys.meta_path` that runs our
registration right after `vlmeval.dataset` / `vlmeval.config` finish executing. VLMEvalKit has
no plugin mechanism; this works for `python -m vlmeval.run`, a source checkout's `run.py` and
torchrun workers alike, because each of them is a fresh interpreter that reads `.pth` files.
The registration warns once per process (rank 0 only) when VLMEvalKit is outside the tested range
(`registration.TESTED_VLMEVAL`), since it relies on VLMEvalKit internals.

It also registers the exit-status handler (`exit_status`) first of all `atexit` handlers, so that
it runs after all of them; it does nothing unless a SPY-Bench failure was recorded.
"""

from __future__ import annotations

import importlib.abc
import sys
import warnings

from .common import exit_status

_AFTER = {"vlmeval.dataset": "register_datasets", "vlmeval.config": "register_models"}


class _RegisteringLoader(importlib.abc.Loader):
    """Delegates to the real loader, then calls our registration for that module."""

    def __init__(self, inner: importlib.abc.Loader, callback: str):
        self.inner, self.callback = inner, callback

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module) -> None:
        self.inner.exec_module(module)
        try:
            from .harness import registration

            getattr(registration, self.callback)(module)
        except Exception as err:  # a broken plugin must never break `import vlmeval`
            warnings.warn(f"SPY-Bench could not register into {module.__name__}: {err!r}", stacklevel=2)

    def __getattr__(self, name):
        return getattr(self.inner, name)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname not in _AFTER:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _RegisteringLoader(spec.loader, _AFTER[fullname])
                return spec
        return None


def install() -> None:
    exit_status.install_exit_handler()
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


install()
