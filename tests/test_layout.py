"""The package's layout by pipeline stage (vlmeval_spy/__init__.py, docs/architecture.md): every
import inside the package, at module level or in a function, read from the source."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "vlmeval_spy"
STAGES = ("common", "bench", "models", "judge", "results", "harness")
"""In pipeline order: a stage may import from itself and from the stages before it."""
TOP = len(STAGES)
"""`cli.py` and `import_hook.py`, which may import every stage."""
TORCH_ALLOWED = ("vlmeval_spy.models.serving.", "vlmeval_spy.harness.")


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        found[".".join(("vlmeval_spy",) + parts)] = path
    return found


def imported(name: str, path: Path) -> set[str]:
    """Every module `name` imports, relative imports resolved, `from X import y` as `X.y` when `y` is a module."""
    package = name.split(".")[:-1]  # a package's own name ends in `__init__`
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - (node.level - 1)] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def stage(module: str) -> int:
    parts = module.split(".")
    return STAGES.index(parts[1]) if len(parts) > 1 and parts[1] in STAGES else TOP


LAYOUT = modules()


def test_every_module_belongs_to_a_stage_or_is_the_command_line_or_the_hook():
    top = {name for name in LAYOUT if stage(name) == TOP}
    assert top == {"vlmeval_spy.__init__", "vlmeval_spy.cli", "vlmeval_spy.import_hook"}


@pytest.mark.parametrize("folder", sorted({path.parent for path in LAYOUT.values()}), ids=str)
def test_every_folder_says_what_it_owns(folder: Path):
    docstring = ast.get_docstring(ast.parse((folder / "__init__.py").read_text(encoding="utf-8")))
    assert docstring and len(docstring.split()) >= 12, f"{folder}/__init__.py needs a docstring saying what it owns"


def test_no_module_imports_from_a_later_stage():
    upward = [
        f"{name} imports {target}"
        for name, path in LAYOUT.items()
        for target in imported(name, path)
        if target.startswith("vlmeval_spy.") and stage(target) > stage(name)
    ]
    assert not upward


def test_only_the_harness_imports_vlmevalkit_only_models_and_harness_import_torch_and_nothing_imports_spy_align():
    wrong = []
    for name, path in LAYOUT.items():
        roots = {target.split(".")[0] for target in imported(name, path)}
        if "vlmeval" in roots and stage(name) != STAGES.index("harness"):
            wrong.append(f"{name} imports VLMEvalKit")
        if roots & {"torch", "transformers", "trl"} and not name.startswith(TORCH_ALLOWED):
            wrong.append(f"{name} imports {sorted(roots & {'torch', 'transformers', 'trl'})}")
        if "spy_align" in roots:
            wrong.append(f"{name} imports spy_align")
    assert not wrong


def test_the_checks_see_imports_at_every_depth():
    """The checks above would pass on a package they cannot read: prove they see what they look for."""
    assert "vlmeval_spy.results.metrics" in imported("vlmeval_spy.cli", LAYOUT["vlmeval_spy.cli"])  # in a function
    harness = imported("vlmeval_spy.harness.dataset", LAYOUT["vlmeval_spy.harness.dataset"])
    assert "vlmeval_spy.bench.build" in harness and any(target.startswith("vlmeval.") for target in harness)
    assert "vlmeval_spy.common.exit_status" in imported("vlmeval_spy.cli", LAYOUT["vlmeval_spy.cli"])  # from . import
    assert stage("vlmeval_spy.bench.build") < stage("vlmeval_spy.results.metrics")
    assert stage("vlmeval_spy.results.metrics") < stage("vlmeval_spy.harness.dataset") < TOP


ROOT = PACKAGE.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PATH = re.compile(r"(?<![\w/.$-])((?:vlmeval_spy|spy_align|scripts|tests|docs)/[\w/.-]*\w)")
IN_PACKAGE = re.compile(r"(?<![\w/.$-])((?:" + "|".join(STAGES) + r")/[\w/.-]*\w)")
"""`harness/dataset.py`: a path inside vlmeval_spy/."""
TEST = re.compile(r"(test_\w+\.py)?::(test_\w+)")
TEST_FILE = re.compile(r"(?<![\w/])(test_\w+\.py)")


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: doc.name)
def test_every_path_and_test_the_docs_name_exists(doc: Path):
    text = doc.read_text(encoding="utf-8")
    missing = [path for path in PATH.findall(text) if not (ROOT / path).exists()]
    missing += [path for path in IN_PACKAGE.findall(text) if not (PACKAGE / path).exists()]
    missing += [file for file in TEST_FILE.findall(text) if not (ROOT / "tests" / file).exists()]
    for line in text.splitlines():
        current = None  # `file.py::test_a`, `::test_b` names test_b of the same file
        for file, test in TEST.findall(line):
            current = file or current
            source = (ROOT / "tests" / current).read_text(encoding="utf-8") if current else ""
            if f"def {test}(" not in source:
                missing.append(f"{current}::{test}")
    assert not missing, f"{doc.name} names what does not exist"
