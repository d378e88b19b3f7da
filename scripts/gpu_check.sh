#!/usr/bin/env bash
# GPU check, a few minutes on CUDA GPUs: the shipped spy-align recipes themselves on a tiny Qwen2-VL (bf16
# weights, tf32, model-only checkpoints registered as saved, eval loss, LoRA), the ncap recipe with flash-attn,
# Liger kernels and DeepSpeed ZeRO-2 with 2 processes under accelerate (each skipped when not installed),
# inference through SPYTransformersVLM and VLMEvalKit runs on SPY-Bench-Mini; prints one table (see
# scripts/gpu_check.py). Then the serving check (scripts/gpu_serve_check.py), when present, with the same
# arguments. Offline: nothing is downloaded unless GPU_CHECK_INSTALL=1.
#
#   scripts/gpu_check.sh [--work-dir DIR]
#   GPU_CHECK_INSTALL=1 scripts/gpu_check.sh    # first pip install liger-kernel, deepspeed, flash-attn
#   scripts/gpu_check.sh --allow-cpu            # test the script itself on a machine without a GPU
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python; fi
fi
if [ "${GPU_CHECK_INSTALL:-0}" = 1 ]; then
  # flash-attn compiles from source when no prebuilt wheel matches torch/CUDA: that can take long.
  for pkg in liger-kernel deepspeed flash-attn; do
    "$PYTHON" -m pip install --no-build-isolation "$pkg" || echo "gpu_check: could not install $pkg; its check is skipped"
  done
fi
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi
status=0
"$PYTHON" scripts/gpu_check.py "$@" || status=$?
if [ -f scripts/gpu_serve_check.py ]; then
  "$PYTHON" scripts/gpu_serve_check.py "$@" || status=$?
fi
exit "$status"
