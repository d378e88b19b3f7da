"""Print a command block of README.md by its marker, so that scripts run the README's commands as written.

    python scripts/readme_block.py NAME

The block is the indented code that follows the line `<!-- NAME -->` in README.md; the indentation
is removed and comments are kept. Exits 2 when there is no such block.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_block(name: str) -> str:
    """The indented block after `<!-- name -->` in README.md (blank lines before it skipped), dedented."""
    lines = README.read_text(encoding="utf-8").splitlines()
    marker = f"<!-- {name} -->"
    if marker not in [line.strip() for line in lines]:
        raise KeyError(f"README.md has no {marker}")
    start = [line.strip() for line in lines].index(marker) + 1
    while start < len(lines) and not lines[start].strip():
        start += 1
    end = start
    while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
        end += 1
    block = textwrap.dedent("\n".join(lines[start:end])).strip()
    if not block:
        raise KeyError(f"README.md has no indented block after {marker}")
    return block + "\n"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/readme_block.py NAME")
    try:
        print(readme_block(sys.argv[1]), end="")
    except KeyError as err:
        print(err.args[0], file=sys.stderr)
        sys.exit(2)
