"""Encode each image once per batch and reuse its features for every sequence that shows it.

Preference training puts one image in several sequences (DPO: chosen and rejected; NCA-P: both
answers under both polarities). TRL's stock collator repeats the pixels, so the vision tower
runs on every copy. Our collator sends each image once under `SHARED_IMAGES_KEY`, with `index`
naming the image of every sequence (in sequence order). A forward pre-hook on the model runs
the model's own `get_image_features` on those images, picks one feature block per sequence, and
hands them to the forward as `mm_encoder_outputs`: the transformers 5 entry point for
precomputed vision features (Qwen2-VL, Qwen2.5-VL, LLaVA and most other VLMs). Gradients of all
copies flow back into the single vision-tower pass. The hook runs inside each forward call, so
the policy, the reference model and a PEFT model with its adapters disabled each encode with
their own weights.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch.utils.hooks import RemovableHandle
from transformers.modeling_outputs import BaseModelOutputWithPooling

SHARED_IMAGES_KEY = "shared_images"


def supports_shared_images(model: torch.nn.Module) -> bool:
    """Whether `model` (a transformers VLM) accepts precomputed vision features."""
    forward_params = inspect.signature(model.forward).parameters
    return hasattr(model, "get_image_features") and "mm_encoder_outputs" in forward_params


def encode_shared_images(vision_model: torch.nn.Module, shared: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Run the vision tower once on the distinct images; return per-sequence `mm_encoder_outputs`."""
    image_inputs = {key: value for key, value in shared.items() if key != "index"}
    outputs = vision_model.get_image_features(**image_inputs, return_dict=True)
    per_image = outputs.pooler_output
    if not isinstance(per_image, (list, tuple)):
        raise TypeError(
            f"{type(vision_model).__name__}.get_image_features returns {type(per_image).__name__} features, not one "
            "block per image; train it with share_image_features=False"
        )
    picked = tuple(per_image[i] for i in shared["index"].tolist())
    return {"image": BaseModelOutputWithPooling(pooler_output=picked)}


def attach_shared_image_encoder(module: torch.nn.Module, vision_model: torch.nn.Module) -> RemovableHandle:
    """Make `module` accept `shared_images=...`: its features are computed by `vision_model` per call.

    `module` is what the trainer calls (a PEFT wrapper, say); `vision_model` the transformers model
    inside it that owns `get_image_features`.
    """
    if not supports_shared_images(vision_model):
        raise ValueError(
            f"{type(vision_model).__name__} takes no precomputed image features (`mm_encoder_outputs`); "
            "train it with share_image_features=False"
        )

    def hook(_module: torch.nn.Module, args: tuple, kwargs: dict[str, Any]) -> tuple[tuple, dict[str, Any]] | None:
        shared = kwargs.pop(SHARED_IMAGES_KEY, None)
        if shared is None:
            return None
        kwargs["mm_encoder_outputs"] = encode_shared_images(vision_model, shared)
        return args, kwargs

    return module.register_forward_pre_hook(hook, with_kwargs=True)
