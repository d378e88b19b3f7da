"""`SPYTransformersVLM`: any image-text-to-text checkpoint transformers can load, as a VLMEvalKit model.

Unlike VLMEvalKit's `Qwen2VLChat` it needs neither a GPU nor flash-attn: it loads through
`AutoProcessor` + `AutoModelForImageTextToText`, uses the checkpoint's chat template and always
the dataset's prompt (SPY-Bench's instructions are the benchmark). VLMEvalKit's local inference
calls `generate` one sample at a time, so there is no batching to hook into here.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import vlmeval.vlm
from PIL import Image
from vlmeval.vlm.base import BaseModel

from spy_align.attention import default_attention  # one rule for training and evaluation

DEFAULT_MAX_NEW_TOKENS = 512


def default_device_map() -> str | dict[str, str]:
    """One GPU per torchrun worker (VLMEvalKit's data parallelism), all GPUs otherwise, else CPU."""
    if not torch.cuda.is_available():
        return "cpu"
    if "LOCAL_RANK" in os.environ:
        return {"": f"cuda:{int(os.environ['LOCAL_RANK'])}"}
    return "auto"


def qwen_pixel_size(processor: Any, min_pixels: int | None, max_pixels: int | None) -> dict[str, int]:
    """The image `size` of a Qwen-style processor (pixel counts as edges) with the given bounds."""
    size = getattr(getattr(processor, "image_processor", None), "size", None)
    if size is None or not getattr(size, "shortest_edge", None) or not getattr(size, "longest_edge", None):
        raise ValueError(f"min_pixels/max_pixels need a Qwen-style image processor, got {type(processor).__name__}")
    return {"shortest_edge": min_pixels or size.shortest_edge, "longest_edge": max_pixels or size.longest_edge}


class SPYTransformersVLM(BaseModel):
    INTERLEAVE = True
    allowed_types = ["text", "image"]

    def __init__(
        self,
        model_path: str,
        *,
        device_map: str | dict[str, Any] | None = None,
        dtype: str | None = None,
        attn_implementation: str | None = None,
        min_pixels: int | None = None,
        max_pixels: int | None = None,
        max_new_tokens: int | None = None,
        system_prompt: str | None = None,
        trust_remote_code: bool = False,
        use_vllm: bool = False,
        **generation_kwargs: Any,
    ) -> None:
        """Load `model_path` (a folder, or a Hugging Face id on machines that can fetch it).

        Defaults: bfloat16 + flash-attn (when installed) on GPU, the checkpoint's dtype + sdpa
        on CPU; greedy decoding; `max_new_tokens` from the checkpoint's generation config, else
        512. `min_pixels`/`max_pixels` go to Qwen-style image processors; other keyword
        arguments are generation settings (`do_sample=True, temperature=...`).
        """
        from transformers import AutoModelForImageTextToText, AutoProcessor

        super().__init__()
        if use_vllm:
            raise ValueError(
                "SPYTransformersVLM does not run vLLM: register the checkpoint with "
                "`spy-bench models add NAME PATH --serve vllm` (batched, as the original scripts) "
                "or `--class Qwen2VLChat` (VLMEvalKit's --use-vllm, one sample at a time)"
            )
        device_map = device_map or default_device_map()
        on_gpu = torch.cuda.is_available() and device_map != "cpu"
        self.processor = AutoProcessor.from_pretrained(model_path, trust_remote_code=trust_remote_code)
        if min_pixels is not None or max_pixels is not None:
            size = qwen_pixel_size(self.processor, min_pixels, max_pixels)
            self.processor = AutoProcessor.from_pretrained(model_path, trust_remote_code=trust_remote_code, size=size)
        self.model = AutoModelForImageTextToText.from_pretrained(
            model_path,
            dtype=dtype or ("bfloat16" if on_gpu else "auto"),
            device_map=device_map,
            attn_implementation=attn_implementation or default_attention(on_gpu),
            trust_remote_code=trust_remote_code,
        ).eval()
        self.system_prompt = system_prompt
        max_new_tokens = max_new_tokens or self.model.generation_config.max_new_tokens or DEFAULT_MAX_NEW_TOKENS
        self.generation_kwargs = {"max_new_tokens": max_new_tokens, "do_sample": False, **generation_kwargs}

    def use_custom_prompt(self, dataset: str) -> bool:
        return False

    def generate_inner(self, message: list[dict], dataset: str | None = None) -> str:
        """Answer one VLMEvalKit message (a list of `{"type": "image"|"text", "value": ...}`)."""
        return self.chat_inner([{"role": "user", "content": message}], dataset)

    def chat_inner(self, message: list[dict], dataset: str | None = None) -> str:
        """Answer the last user turn of a conversation (`[{"role": ..., "content": [...]}, ...]`)."""
        conversation, images = [], []
        if self.system_prompt:
            conversation.append({"role": "system", "content": [{"type": "text", "text": self.system_prompt}]})
        for turn in message:
            content, turn_images = _chat_content(turn["content"])
            conversation.append({"role": turn["role"], "content": content})
            images.extend(turn_images)
        return self._answer(conversation, images)

    @torch.inference_mode()
    def _answer(self, conversation: list[dict], images: list[Image.Image]) -> str:
        text = self.processor.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
        inputs = self.processor(text=[text], images=images or None, return_tensors="pt")
        inputs = inputs.to(self.model.device, dtype=self.model.dtype)  # dtype: floating tensors only
        output = self.model.generate(**inputs, **self.generation_kwargs)
        new_tokens = output[:, inputs["input_ids"].shape[1] :]
        return self.processor.batch_decode(new_tokens, skip_special_tokens=True)[0].strip()


def _chat_content(items: list[dict]) -> tuple[list[dict], list[Image.Image]]:
    """VLMEvalKit content items -> chat-template content and the images, in order."""
    content, images = [], []
    for item in items:
        if item["type"] == "image":
            content.append({"type": "image"})
            images.append(_load_image(item["value"]))
        elif item["type"] == "text":
            content.append({"type": "text", "text": item["value"]})
        else:
            raise ValueError(f"SPYTransformersVLM accepts text and images, got a {item['type']!r} item")
    return content, images


def _load_image(path: str) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


# `--config '{"model": {"x": {"class": "SPYTransformersVLM", "model_path": ...}}}'` finds it here.
vlmeval.vlm.SPYTransformersVLM = SPYTransformersVLM
