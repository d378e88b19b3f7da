"""The attention implementation to load a model with when the user names none.

One rule for training and evaluation: `spy-align` (`spy_align.training`) and the generation code of
the SPY-Bench model classes and the batching server (`vlm_generation`) import it from here. No
TRL and no VLMEvalKit, so the evaluation side does not depend on the trainers.
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
