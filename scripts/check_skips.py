"""Fail when pytest skipped a test: a missing file or dependency must never pass as a green run.

    python scripts/check_skips.py JUNIT_XML

Reads the JUnit XML report of a pytest run (`--junitxml`), lists every skipped test with its
reason, and exits 1 if any was skipped. One skip is accepted: the upstream conformance tests
(`upstream` fixture of tests/conftest.py) when `../shared/spy_upstream` is really absent; where
that folder exists (in CI it does), they must run.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
UPSTREAM = REPO.parent / "shared" / "spy_upstream"
UPSTREAM_ABSENT = "../shared/spy_upstream is not present"
"""tests/conftest.py's skip reason for the upstream conformance tests."""
USAGE = "usage: python scripts/check_skips.py JUNIT_XML"


def skipped_tests(junit_xml: Path) -> list[tuple[str, str]]:
    """(test id, reason) of every skipped or xfailed test case in the report."""
    found = []
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        skip = case.find("skipped")
        if skip is not None:
            test = f"{case.get('classname', '')}::{case.get('name', '')}"
            found.append((test, skip.get("message") or skip.text or "no reason given"))
    return found


def allowed(reason: str, upstream_present: bool) -> bool:
    return not upstream_present and UPSTREAM_ABSENT in reason


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(USAGE, file=sys.stderr)
        return 2
    skips = skipped_tests(Path(argv[0]))
    upstream_present = UPSTREAM.is_dir()
    refused = [(test, reason) for test, reason in skips if not allowed(reason, upstream_present)]
    for test, reason in skips:
        print(f"{'SKIPPED' if (test, reason) in refused else 'skipped (allowed)'}: {test}: {reason}")
    if refused:
        print(
            f"check_skips: {len(refused)} test(s) skipped; every test must run (a skip hides a missing file "
            "or dependency)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
