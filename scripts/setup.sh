#!/usr/bin/env bash
# Create .venv in the repository root and install the project with everything it needs
# (VLMEvalKit as ms-vlmeval, TRL, the CPU servers, test tools). Re-running is quick: nothing is reinstalled
# unless the packaging files changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# torch/torchvision pinned together: a mismatched torchvision fails to import.
TORCH_SPEC=${TORCH_SPEC:-"torch==2.14.1 torchvision==0.29.1"}

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.spy-bench-installed
want=$(cat setup.cfg setup.py | md5sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  # shellcheck disable=SC2086
  .venv/bin/python -m pip install -q $TORCH_SPEC
  .venv/bin/python -m pip install -q -e '.[harness,align,serve,test]'
  echo "$want" > "$stamp"
fi
