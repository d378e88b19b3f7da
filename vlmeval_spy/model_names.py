"""Built-in model names: the paper's 21 models and the released SPY-Tune checkpoints.

A name resolves to VLMEvalKit's own `supported_VLM` entry where VLMEvalKit has the model (the
paper's spelling becomes an alias of it), otherwise to our `SPYTransformersVLM` loading the
Hugging Face id. Entries of the model registry file take precedence over these names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# SPEC section 7: the pixel range SPY-Tune trained Qwen2-VL-7B-Instruct with.
SPY_TUNE_PIXELS = {"min_pixels": 200704, "max_pixels": 1003520}


@dataclass(frozen=True)
class BuiltinModel:
    """`name` is what `--model` takes; `vlmeval_name` is VLMEvalKit's key for the same model.

    `hf_id` is a checkpoint transformers loads natively: used with our class when VLMEvalKit
    has no entry (or an older VLMEvalKit lacks `vlmeval_name`).
    """

    name: str
    vlmeval_name: str | None = None
    hf_id: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)


PAPER_MODELS: tuple[BuiltinModel, ...] = (
    BuiltinModel("LLaVA-1.5-13B", "llava_v1.5_13b", "llava-hf/llava-1.5-13b-hf"),
    BuiltinModel("LLaVA-NeXT-Vicuna-13B", "llava_next_vicuna_13b", "llava-hf/llava-v1.6-vicuna-13b-hf"),
    BuiltinModel("LLaVA-OneVision-Qwen2-7B", "llava-onevision-qwen2-7b-ov-hf",
                 "llava-hf/llava-onevision-qwen2-7b-ov-hf"),
    BuiltinModel("Llama-3.2-11B-Vision-Instruct", "Llama-3.2-11B-Vision-Instruct",
                 "meta-llama/Llama-3.2-11B-Vision-Instruct"),
    BuiltinModel("Pixtral-12B", "Pixtral-12B", "mistral-community/pixtral-12b"),
    BuiltinModel("GLM-4V-9B", "glm-4v-9b"),
    BuiltinModel("DeepSeek-VL2", "deepseek_vl2"),
    BuiltinModel("InternVL2.5-4B", "InternVL2_5-4B"),
    BuiltinModel("InternVL2.5-8B", "InternVL2_5-8B"),
    BuiltinModel("InternVL2.5-38B", "InternVL2_5-38B"),
    BuiltinModel("InternVL2.5-78B", "InternVL2_5-78B"),
    BuiltinModel("Qwen2-VL-7B-Instruct", "Qwen2-VL-7B-Instruct", "Qwen/Qwen2-VL-7B-Instruct"),
    BuiltinModel("Qwen2.5-VL-3B-Instruct", "Qwen2.5-VL-3B-Instruct", "Qwen/Qwen2.5-VL-3B-Instruct"),
    BuiltinModel("Qwen2.5-VL-7B-Instruct", "Qwen2.5-VL-7B-Instruct", "Qwen/Qwen2.5-VL-7B-Instruct"),
    BuiltinModel("Qwen2.5-VL-32B-Instruct", "Qwen2.5-VL-32B-Instruct", "Qwen/Qwen2.5-VL-32B-Instruct"),
    BuiltinModel("Qwen2.5-VL-72B-Instruct", "Qwen2.5-VL-72B-Instruct", "Qwen/Qwen2.5-VL-72B-Instruct"),
    BuiltinModel("Phi-4-multimodal-instruct", "Phi-4-Vision"),
    # VLMEvalKit has no entry for it; transformers loads it as Mistral3ForConditionalGeneration.
    BuiltinModel("Mistral-Small-3.1-24B-Instruct-2503", None, "mistralai/Mistral-Small-3.1-24B-Instruct-2503"),
    BuiltinModel("GPT-4o-2024-11-20", "GPT4o_20241120"),
    BuiltinModel("Gemini-2.0-Flash", "GeminiFlash2-0"),
    BuiltinModel("o4-mini-2025-04-16", "o4-mini"),
)

SPY_CHECKPOINTS: tuple[BuiltinModel, ...] = tuple(
    BuiltinModel(f"SPY_Qwen2-VL-7B-Instruct_{method}", None, f"achernarwang/SPY_Qwen2-VL-7B-Instruct_{method}",
                 SPY_TUNE_PIXELS)
    for method in ("SFT", "DPO", "NCA", "NCA-P")
) + (
    # The base model through the same class and pixel range, for a like-for-like comparison.
    BuiltinModel("Qwen2-VL-7B-Instruct-HF", None, "Qwen/Qwen2-VL-7B-Instruct", SPY_TUNE_PIXELS),
)

BUILTIN_MODELS: tuple[BuiltinModel, ...] = PAPER_MODELS + SPY_CHECKPOINTS
