"""Installs the `.pth` import hook that registers SPY-Bench into VLMEvalKit.

setup.cfg cannot place a file at the top of site-packages; these two commands do, for regular
(`pip install .`) and editable (`pip install -e .`, PEP 660) installs.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

HOOK = "vlmeval_spy_hook.pth"
# A .pth line runs at every interpreter start: it must be quick and survive an uninstalled package.
HOOK_LINE = "import importlib.util as _u; _u.find_spec('vlmeval_spy') and __import__('vlmeval_spy.import_hook')\n"


class BuildPyWithHook(build_py):
    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            Path(self.build_lib, HOOK).write_text(HOOK_LINE)


class EditableWheelWithHook(editable_wheel):
    def _install_namespaces(self, installation_dir, pth_prefix) -> None:
        super()._install_namespaces(installation_dir, pth_prefix)
        Path(installation_dir, HOOK).write_text(HOOK_LINE)


setup(cmdclass={"build_py": BuildPyWithHook, "editable_wheel": EditableWheelWithHook})
