"""Built-in model names: the paper's 21 models and the released SPY-Tune checkpoints.

A name resolves to VLMEvalKit's own `supported_VLM` entry where VLMEvalKit has the model (the
paper's spelling becomes an alias of it), otherwise to our `SPYTransformersVLM` loading the
Hugging Face id. Open models that vLLM serves also get `<name>-vLLM`: the same checkpoint
answered by `vllm serve` through `SPYServedVLM` (batched, the original scripts' setting).
Entries of the model registry file take precedence over these names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# docs/specification.md §7: the pixel range SPY-Tune trained Qwen2-VL-7B-Instruct with.
SPY_TUNE_PIXELS = {"min_pixels": 200704, "max_pixels": 1003520}
SERVED_SUFFIX = "-vLLM"
REMOTE_CODE = ("--trust-remote-code",)
MISTRAL_FORMAT = ("--tokenizer-mode", "mistral", "--config-format", "mistral", "--load-format", "mistral")


@dataclass(frozen=True)
class BuiltinModel:
    """`name` is what `--model` takes; `vlmeval_name` is VLMEvalKit's key for the same model.

    `hf_id` is a checkpoint transformers loads natively: used with our class when VLMEvalKit
    has no entry (or an older VLMEvalKit lacks `vlmeval_name`). `vllm_args` are the engine
    arguments `vllm serve` needs for the model (None: no served variant); `served_id` is the
    checkpoint vLLM loads when it is not `hf_id`.
    """

    name: str
    vlmeval_name: str | None = None
    hf_id: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    vllm_args: tuple[str, ...] | None = None
    served_id: str | None = None

    @property
    def served_name(self) -> str | None:
        """`<name>-vLLM` when vLLM serves this model."""
        return self.name + SERVED_SUFFIX if self.vllm_args is not None else None


PAPER_MODELS: tuple[BuiltinModel, ...] = (
    BuiltinModel("LLaVA-1.5-13B", "llava_v1.5_13b", "llava-hf/llava-1.5-13b-hf", vllm_args=()),
    BuiltinModel("LLaVA-NeXT-Vicuna-13B", "llava_next_vicuna_13b", "llava-hf/llava-v1.6-vicuna-13b-hf", vllm_args=()),
    BuiltinModel(
        "LLaVA-OneVision-Qwen2-7B",
        "llava-onevision-qwen2-7b-ov-hf",
        "llava-hf/llava-onevision-qwen2-7b-ov-hf",
        vllm_args=(),
    ),
    # No served variant: current vLLM releases no longer serve Llama 3.2 Vision (Mllama).
    BuiltinModel(
        "Llama-3.2-11B-Vision-Instruct", "Llama-3.2-11B-Vision-Instruct", "meta-llama/Llama-3.2-11B-Vision-Instruct"
    ),
    BuiltinModel("Pixtral-12B", "Pixtral-12B", "mistral-community/pixtral-12b", vllm_args=()),
    BuiltinModel("GLM-4V-9B", "glm-4v-9b", vllm_args=REMOTE_CODE, served_id="THUDM/glm-4v-9b"),
    BuiltinModel(
        "DeepSeek-VL2",
        "deepseek_vl2",
        served_id="deepseek-ai/deepseek-vl2",
        vllm_args=("--hf-overrides", '{"architectures": ["DeepseekVLV2ForCausalLM"]}'),
    ),
    BuiltinModel("InternVL2.5-4B", "InternVL2_5-4B", vllm_args=REMOTE_CODE, served_id="OpenGVLab/InternVL2_5-4B"),
    BuiltinModel("InternVL2.5-8B", "InternVL2_5-8B", vllm_args=REMOTE_CODE, served_id="OpenGVLab/InternVL2_5-8B"),
    BuiltinModel("InternVL2.5-38B", "InternVL2_5-38B", vllm_args=REMOTE_CODE, served_id="OpenGVLab/InternVL2_5-38B"),
    BuiltinModel("InternVL2.5-78B", "InternVL2_5-78B", vllm_args=REMOTE_CODE, served_id="OpenGVLab/InternVL2_5-78B"),
    BuiltinModel("Qwen2-VL-7B-Instruct", "Qwen2-VL-7B-Instruct", "Qwen/Qwen2-VL-7B-Instruct", vllm_args=()),
    BuiltinModel("Qwen2.5-VL-3B-Instruct", "Qwen2.5-VL-3B-Instruct", "Qwen/Qwen2.5-VL-3B-Instruct", vllm_args=()),
    BuiltinModel("Qwen2.5-VL-7B-Instruct", "Qwen2.5-VL-7B-Instruct", "Qwen/Qwen2.5-VL-7B-Instruct", vllm_args=()),
    BuiltinModel("Qwen2.5-VL-32B-Instruct", "Qwen2.5-VL-32B-Instruct", "Qwen/Qwen2.5-VL-32B-Instruct", vllm_args=()),
    BuiltinModel("Qwen2.5-VL-72B-Instruct", "Qwen2.5-VL-72B-Instruct", "Qwen/Qwen2.5-VL-72B-Instruct", vllm_args=()),
    # No served variant: vLLM serves its vision part only as a LoRA adapter chosen per request.
    BuiltinModel("Phi-4-multimodal-instruct", "Phi-4-Vision"),
    # VLMEvalKit has no entry for it; transformers loads it as Mistral3ForConditionalGeneration.
    BuiltinModel(
        "Mistral-Small-3.1-24B-Instruct-2503",
        None,
        "mistralai/Mistral-Small-3.1-24B-Instruct-2503",
        vllm_args=MISTRAL_FORMAT,
    ),
    BuiltinModel("GPT-4o-2024-11-20", "GPT4o_20241120"),
    BuiltinModel("Gemini-2.0-Flash", "GeminiFlash2-0"),
    BuiltinModel("o4-mini-2025-04-16", "o4-mini"),
)

SPY_CHECKPOINTS: tuple[BuiltinModel, ...] = tuple(
    BuiltinModel(
        f"SPY_Qwen2-VL-7B-Instruct_{method}",
        None,
        f"achernarwang/SPY_Qwen2-VL-7B-Instruct_{method}",
        SPY_TUNE_PIXELS,
        vllm_args=(),
    )
    for method in ("SFT", "DPO", "NCA", "NCA-P")
) + (
    # The base model through the same class and pixel range, for a like-for-like comparison.
    BuiltinModel("Qwen2-VL-7B-Instruct-HF", None, "Qwen/Qwen2-VL-7B-Instruct", SPY_TUNE_PIXELS, vllm_args=()),
)

BUILTIN_MODELS: tuple[BuiltinModel, ...] = PAPER_MODELS + SPY_CHECKPOINTS
