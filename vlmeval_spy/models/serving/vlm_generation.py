"""Load an image-text-to-text checkpoint and answer conversations with it, one or many at a time.

`SPYTransformersVLM` (VLMEvalKit's per-sample path) and `batched_server` (the served path on
CPU) both go through `answer_batch`, so a served answer is the local answer: same chat template,
same image processing, same greedy decoding. A batch is left-padded, so every answer starts
right after its own prompt.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import IO, Any, NamedTuple

import torch
from PIL import Image
from transformers import StoppingCriteria, StoppingCriteriaList

from .attention import default_attention  # one rule for training and evaluation

DEFAULT_MAX_NEW_TOKENS = 512
"""The original scripts' answer length, where the checkpoint's generation config sets none."""
DEFAULT_CONTEXT = 32768
"""Context length of a checkpoint whose configuration states none."""


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


def load_vlm(
    model_path: str,
    *,
    device_map: str | dict[str, Any] | None = None,
    dtype: str | None = None,
    attn_implementation: str | None = None,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    trust_remote_code: bool = False,
) -> tuple[Any, Any]:
    """`(processor, model)` of `model_path`, ready for `answer_batch`.

    Defaults: bfloat16 + flash-attn (when installed) on GPU, the checkpoint's dtype + sdpa on
    CPU. `min_pixels`/`max_pixels` go to Qwen-style image processors.
    """
    from transformers import AutoModelForImageTextToText, AutoProcessor

    device_map = device_map or default_device_map()
    on_gpu = torch.cuda.is_available() and device_map != "cpu"
    processor = AutoProcessor.from_pretrained(model_path, trust_remote_code=trust_remote_code)
    if min_pixels is not None or max_pixels is not None:
        size = qwen_pixel_size(processor, min_pixels, max_pixels)
        processor = AutoProcessor.from_pretrained(model_path, trust_remote_code=trust_remote_code, size=size)
    model = AutoModelForImageTextToText.from_pretrained(
        model_path,
        dtype=dtype or ("bfloat16" if on_gpu else "auto"),
        device_map=device_map,
        attn_implementation=attn_implementation or default_attention(on_gpu),
        trust_remote_code=trust_remote_code,
    ).eval()
    return processor, model


def greedy_settings(model: Any, max_new_tokens: int | None = None, **generation_kwargs: Any) -> dict[str, Any]:
    """`generate` settings: greedy, `max_new_tokens` else the checkpoint's, else 512; overrides last."""
    max_new_tokens = max_new_tokens or model.generation_config.max_new_tokens or DEFAULT_MAX_NEW_TOKENS
    return {"max_new_tokens": max_new_tokens, "do_sample": False, **generation_kwargs}


class Answer(NamedTuple):
    text: str
    tokens: int
    """New tokens generated, the end-of-answer token included."""
    stopped: bool
    """Whether the model ended the answer (else it ran into `max_new_tokens`)."""


def context_length(model: Any) -> int:
    """Tokens the model attends to at most (prompt and answer): its text configuration's position limit."""
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    return int(getattr(config, "max_position_embeddings", None) or DEFAULT_CONTEXT)


def prompt_tokens(processor: Any, conversation: list[dict], images: list[Image.Image]) -> int:
    """Tokens of one conversation's prompt as `answer_batch` builds it, image tokens included."""
    text = processor.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
    return int(processor(text=[text], images=images or None, return_tensors="pt")["input_ids"].shape[1])


class _Unwanted(StoppingCriteria):
    """A stopping criterion: the rows whose answer nobody waits for any more are finished."""

    def __init__(self, wanted: Callable[[], list[bool]]):
        self.wanted = wanted

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.BoolTensor:
        return torch.tensor([not keep for keep in self.wanted()], dtype=torch.bool, device=input_ids.device)


@torch.inference_mode()
def answer_batch(
    processor: Any,
    model: Any,
    conversations: list[list[dict]],
    images: list[list[Image.Image]],
    generation: dict[str, Any],
    wanted: Callable[[], list[bool]] | None = None,
) -> list[Answer]:
    """One answer per conversation (chat-template content, `{"type": "image"}` where an image goes).

    `images[i]` are conversation i's images, in order. All conversations run in one `generate`.
    `wanted()`, checked after every new token, says which answers are still awaited: the others stop
    there (their clients left or timed out), and the batch ends when none is.
    """
    texts = [processor.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in conversations]
    flat = [image for per_conversation in images for image in per_conversation]
    inputs = processor(text=texts, images=flat or None, padding=True, padding_side="left", return_tensors="pt")
    inputs = inputs.to(model.device, dtype=model.dtype)  # dtype: floating tensors only
    if wanted is not None:
        generation = {**generation, "stopping_criteria": StoppingCriteriaList([_Unwanted(wanted)])}
    output = model.generate(**inputs, **generation)
    new_tokens = output[:, inputs["input_ids"].shape[1] :]
    decoded = processor.batch_decode(new_tokens, skip_special_tokens=True)
    ends = torch.isin(new_tokens, torch.tensor(_end_ids(model), device=new_tokens.device))
    answers = []
    for text, row_ends in zip(decoded, ends, strict=True):
        stopped = bool(row_ends.any())
        tokens = int(row_ends.int().argmax()) + 1 if stopped else new_tokens.shape[1]
        answers.append(Answer(text.strip(), tokens, stopped))
    return answers


def _end_ids(model: Any) -> list[int]:
    eos = model.generation_config.eos_token_id
    return [] if eos is None else [eos] if isinstance(eos, int) else list(eos)


def load_image(source: str | IO[bytes]) -> Image.Image:
    """An image file (a path, or its bytes as a file object) as RGB, as every path here reads images."""
    with Image.open(source) as image:
        return image.convert("RGB")
