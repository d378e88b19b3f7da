#!/usr/bin/env bash
# Set everything up, then evaluate both baseline models on the bundled SPY-Bench-Mini through
# VLMEvalKit's run.py (offline: the mini benchmark and its images are generated locally, the
# offline rule judge scores the answers) and print their metrics.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

export LMUData=${LMUData:-$PWD/work/LMUData}
WORK_DIR=${WORK_DIR:-$PWD/work/outputs}
mkdir -p "$LMUData" "$WORK_DIR"
# `spy-bench run`: the installed VLMEvalKit's run.py (here the wheel's `python -m vlmeval.run`) with SPY-Bench registered.
.venv/bin/spy-bench run --data SPY-Bench-Mini --model SPY-AlwaysRespond SPY-AlwaysReject \
  --judge exact_matching --work-dir "$WORK_DIR"
.venv/bin/spy-bench leaderboard "$WORK_DIR"
