"""`SPYTransformersVLM`: any image-text-to-text checkpoint transformers can load, as a VLMEvalKit model.

Unlike VLMEvalKit's `Qwen2VLChat` it needs neither a GPU nor flash-attn: it loads through
`AutoProcessor` + `AutoModelForImageTextToText`, uses the checkpoint's chat template and always
the dataset's prompt (SPY-Bench's instructions are the benchmark). VLMEvalKit's local inference
calls `generate` one sample at a time, so there is no batching to hook into here; loading and
generation are `models.serving.vlm_generation`'s, shared with the batching server.
"""

from __future__ import annotations

from typing import Any

import vlmeval.vlm
from PIL import Image
from vlmeval.vlm.base import BaseModel

from ..models.serving.vlm_generation import answer_batch, greedy_settings, load_image, load_vlm


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
        super().__init__()
        if use_vllm:
            raise ValueError(
                "SPYTransformersVLM does not run vLLM: register the checkpoint with "
                "`spy-bench models add NAME PATH --serve vllm` (batched, as the original scripts) "
                "or `--class Qwen2VLChat` (VLMEvalKit's --use-vllm, one sample at a time)"
            )
        self.processor, self.model = load_vlm(
            model_path,
            device_map=device_map,
            dtype=dtype,
            attn_implementation=attn_implementation,
            min_pixels=min_pixels,
            max_pixels=max_pixels,
            trust_remote_code=trust_remote_code,
        )
        self.system_prompt = system_prompt
        self.generation_kwargs = greedy_settings(self.model, max_new_tokens, **generation_kwargs)

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
        return answer_batch(self.processor, self.model, [conversation], [images], self.generation_kwargs)[0].text


def _chat_content(items: list[dict]) -> tuple[list[dict], list[Image.Image]]:
    """VLMEvalKit content items -> chat-template content and the images, in order."""
    content, images = [], []
    for item in items:
        if item["type"] == "image":
            content.append({"type": "image"})
            images.append(load_image(item["value"]))
        elif item["type"] == "text":
            content.append({"type": "text", "text": item["value"]})
        else:
            raise ValueError(f"SPYTransformersVLM accepts text and images, got a {item['type']!r} item")
    return content, images


# `--config '{"model": {"x": {"class": "SPYTransformersVLM", "model_path": ...}}}'` finds it here.
vlmeval.vlm.SPYTransformersVLM = SPYTransformersVLM
