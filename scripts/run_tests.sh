#!/usr/bin/env bash
# Install what the tests need (see setup.sh) and run the test suite (arguments go to pytest).
# VLMEVALKIT_SRC=/path/to/VLMEvalKit runs it against that source checkout, in its own environment
# (.venv-checkout, installed as the README's checkout section says); by default against the PyPI wheel (.venv).
# Fails when any test was skipped, listing the reasons: a skip hides a missing file or dependency
# (scripts/check_skips.py; the one accepted skip is the upstream conformance check, where
# ../shared/spy_upstream is absent).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
venv=$([ -n "${VLMEVALKIT_SRC:-}" ] && echo .venv-checkout || echo .venv)
"$venv/bin/python" scripts/which_vlmevalkit.py
bash scripts/install_browser.sh  # Debian's chromium for the viewer's browser test (apt-get, as root)

report=$(mktemp -t spy-bench-tests.XXXXXX.xml)
trap 'rm -f "$report"' EXIT
status=0
# -n: one worker per core (at most 4), each taking whole test files (their module fixtures are built once);
# --durations: the 10 slowest tests close the output, so a suite that grows is seen early.
"$venv/bin/python" -m pytest -n auto --maxprocesses 4 --dist loadfile --junitxml="$report" --durations=10 "$@" \
  || status=$?
if [ -s "$report" ]; then
  "$venv/bin/python" scripts/check_skips.py "$report" || status=$((status ? status : 1))
fi
exit "$status"
