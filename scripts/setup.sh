#!/usr/bin/env bash
# Create a virtual environment in the repository root and install the project with everything it needs
# (TRL, the CPU servers, test tools) and a VLMEvalKit:
#   - by default `.venv/`, with VLMEvalKit from PyPI (ms-vlmeval, the `harness` extra);
#   - with VLMEVALKIT_SRC=/path/to/VLMEvalKit (a source checkout), `.venv-checkout/`, installed with the
#     commands of the README's "VLMEvalKit from a source checkout" block, run as written.
# Re-running is quick: nothing is reinstalled unless the packaging files (or the checkout's requirements) changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# torch/torchvision pinned together: a mismatched torchvision fails to import.
TORCH_SPEC=${TORCH_SPEC:-"torch==2.14.1 torchvision==0.29.1"}

if [ -n "${VLMEVALKIT_SRC:-}" ]; then
  VLMEVALKIT_SRC=$(cd "$VLMEVALKIT_SRC" && pwd)
  [ -f "$VLMEVALKIT_SRC/run.py" ] && [ -d "$VLMEVALKIT_SRC/vlmeval" ] \
    || { echo "VLMEVALKIT_SRC=$VLMEVALKIT_SRC is not a VLMEvalKit checkout (no run.py and vlmeval/ at its root)" >&2; exit 2; }
  venv=.venv-checkout
  block=$("$PYTHON" scripts/readme_block.py checkout-install)
  want=$(cat setup.cfg setup.py "$VLMEVALKIT_SRC/requirements.txt" <(echo "$VLMEVALKIT_SRC$block") | md5sum | cut -d' ' -f1)
else
  venv=.venv
  want=$(cat setup.cfg setup.py | md5sum | cut -d' ' -f1)
fi

[ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
stamp=$venv/.spy-bench-installed
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  # shellcheck disable=SC2086
  "$venv/bin/python" -m pip install -q $TORCH_SPEC
  if [ -n "${VLMEVALKIT_SRC:-}" ]; then
    # The README's checkout commands, as written, with this environment's pip first on PATH.
    (export PATH="$PWD/$venv/bin:$PATH" SPY_BENCH_SRC="$PWD" VLMEVALKIT_SRC; set -x; eval "$block")
    "$venv/bin/python" -m pip install -q -e '.[align,serve,test]'
  else
    "$venv/bin/python" -m pip install -q -e '.[harness,align,serve,test]'
  fi
  echo "$want" > "$stamp"
fi
