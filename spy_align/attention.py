"""The attention implementation to load a model with when the user names none.

Torch-side only (no TRL, no VLMEvalKit), so both `spy-align` and the SPY-Bench model classes
(`vlmeval_spy.harness.hf_model`) import it from here.
"""

from __future__ import annotations

import importlib.util


def default_attention(on_gpu: bool | None = None) -> str:
    """flash-attn 2 where it can run (installed, on a GPU), else PyTorch's sdpa.

    `on_gpu`: whether the model goes to a CUDA GPU; unset, whether one is visible.
    """
    if on_gpu is None:
        import torch

        on_gpu = torch.cuda.is_available()
    if on_gpu and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"
