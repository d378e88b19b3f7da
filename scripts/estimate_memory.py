"""Per-GPU memory of each shipped spy-align recipe for Qwen2-VL-7B-Instruct, with the calculation shown.

    python scripts/estimate_memory.py [--gpus 8] [--gpu-gb 80] [--image-tokens 1280] [--text-tokens 256]
        [--answer-tokens 32] [--branch-tokens 128] [--no-share-prompt-prefix]
    python scripts/estimate_memory.py --check-tiny      # the estimate against a tiny model's measured bytes (CPU)

The settings come from the recipe files themselves (batch per device, LoRA, reference model,
gradient checkpointing, bf16 weights); the paper's recipes run under DeepSpeed ZeRO-2 on
`--gpus` GPUs, the LoRA recipe on one GPU without DeepSpeed. Parameter counts follow from
Qwen2-VL's architecture (formula below), cross-checked against the model instantiated on
PyTorch's meta device (no memory, no download).

What is counted, per GPU, in bytes (P: parameters, N: GPUs, b: examples per device, S:
sequences per forward = b x (1 SFT, 2 DPO/NCA, 4 NCA-P), T: tokens per sequence, A: answer
tokens, B: tokens of an NCA-P prompt from where its two polarities differ):
- weights: 2P (bf16, replicated under ZeRO-2); the reference model of DPO / NCA / NCA-P: 2P more
  (LoRA: none, the reference is the base with adapters disabled);
- gradients: 2P/N (bf16, partitioned by ZeRO-2); LoRA: 4 bytes per adapter parameter;
- optimizer: 12P/N (DeepSpeed's fp32 master weights and Adam's two moments, partitioned);
  LoRA: adapters in fp32 (4) + Adam moments (8) per adapter parameter, nothing else;
- DeepSpeed buffers: reduce and all-gather buckets, 5e8 elements x 2 bytes each (DeepSpeed's
  defaults under accelerate's zero2.yaml);
- activations with gradient checkpointing, over the K tokens the language model runs per
  forward: K = S T unshared; with the shared prompt prefix (the default of DPO / NCA / NCA-P,
  docs/training.md) each example is one token tree, K = b (T + A) for DPO / NCA and
  b (T + B + 3A) for NCA-P. Every decoder layer keeps its input (K h 2 bytes per layer), the
  layer being recomputed holds its saved tensors and their gradients (2 x K x (2(4h + 2kv + 4i)
  + 4 x 2h) bytes: bf16 projections and MLP, fp32 RMSNorm inputs), and the tree's attention mask
  takes b K'^2 x 3 bytes (K' = K / b: boolean, and the bf16 bias sdpa makes of it);
  the vision tower likewise on b images of 4 x image-tokens patches (each image is encoded once
  per example, see docs/training.md); TRL's chunked LM head: a 4096 x 32768 bf16 tile, the
  hidden states in fp32, and the head's fp32 gradient (V x h x 4 bytes) during backward.
Not counted: the CUDA context and allocator fragmentation (typically 1-3 GB), and the reference
forward's transient activations (freed before the policy's backward).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

GB = 1e9
RECIPES = ("qwen2vl_sft", "qwen2vl_dpo", "qwen2vl_nca", "qwen2vl_ncap", "qwen2vl_ncap_lora")
SEQUENCES_PER_EXAMPLE = {"sft": 1, "dpo": 2, "nca": 2, "ncap": 4}


@dataclass(frozen=True)
class TokenMix:
    """Tokens of a sequence: image, text (instructions, question, answer), of which the answer and the NCA-P
    branch (the prompt from where its two polarities differ)."""

    image: int
    text: int
    answer: int
    branch: int
    shared_prefix: bool

    def per_example(self, method: str) -> int:
        """Tokens the language model runs per example: its sequences whole, or one tree (docs/training.md)."""
        tokens = self.image + self.text
        if not self.shared_prefix or method == "sft":
            return SEQUENCES_PER_EXAMPLE[method] * tokens
        return tokens + self.answer if method in ("dpo", "nca") else tokens + self.branch + 3 * self.answer


BUCKET_ELEMENTS = 5e8  # DeepSpeed's default reduce_bucket_size and allgather_bucket_size
LM_HEAD_TILE = 4096 * 32768  # TRL 1.16's chunked log-prob tile: TOKEN_CHUNK_SIZE x _CHUNKED_LOGPROB_CHUNK_SIZE


@dataclass(frozen=True)
class Architecture:
    """The sizes that determine Qwen2-VL's parameter count and activation sizes."""

    vocab: int
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    tied_embeddings: bool
    vision_depth: int
    vision_width: int
    vision_mlp_ratio: float
    patch: int
    temporal_patch: int
    merge: int

    @property
    def kv_width(self) -> int:
        return self.kv_heads * (self.hidden // self.heads)

    @property
    def vision_mlp(self) -> int:
        return int(self.vision_width * self.vision_mlp_ratio)


QWEN2_VL_7B = Architecture(  # Qwen/Qwen2-VL-7B-Instruct's config.json
    vocab=152064,
    hidden=3584,
    intermediate=18944,
    layers=28,
    heads=28,
    kv_heads=4,
    tied_embeddings=False,
    vision_depth=32,
    vision_width=1280,
    vision_mlp_ratio=4,
    patch=14,
    temporal_patch=2,
    merge=2,
)


def architecture_of(config) -> Architecture:
    """An `Architecture` from a transformers `Qwen2VLConfig`."""
    text, vision = config.text_config, config.vision_config
    return Architecture(
        vocab=text.vocab_size,
        hidden=text.hidden_size,
        intermediate=text.intermediate_size,
        layers=text.num_hidden_layers,
        heads=text.num_attention_heads,
        kv_heads=text.num_key_value_heads,
        tied_embeddings=bool(getattr(config, "tie_word_embeddings", False)),
        vision_depth=vision.depth,
        vision_width=vision.embed_dim,
        vision_mlp_ratio=vision.mlp_ratio,
        patch=vision.patch_size,
        temporal_patch=vision.temporal_patch_size,
        merge=vision.spatial_merge_size,
    )


def qwen2_vl_config(arch: Architecture):
    from transformers import Qwen2VLConfig

    text = dict(
        vocab_size=arch.vocab,
        hidden_size=arch.hidden,
        intermediate_size=arch.intermediate,
        num_hidden_layers=arch.layers,
        num_attention_heads=arch.heads,
        num_key_value_heads=arch.kv_heads,
    )
    vision = dict(
        depth=arch.vision_depth,
        embed_dim=arch.vision_width,
        hidden_size=arch.hidden,
        mlp_ratio=arch.vision_mlp_ratio,
        num_heads=16,
        patch_size=arch.patch,
        temporal_patch_size=arch.temporal_patch,
        spatial_merge_size=arch.merge,
    )
    return Qwen2VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=arch.tied_embeddings)


def parameter_counts(arch: Architecture) -> dict[str, int]:
    """Parameters per part of Qwen2-VL, from its layer shapes (biases: q/k/v projections, all vision linears)."""
    h, kv, i, e, m = arch.hidden, arch.kv_width, arch.intermediate, arch.vision_width, arch.vision_mlp
    attention = (h * h + h) + 2 * (h * kv + kv) + h * h
    decoder_layer = attention + 3 * h * i + 2 * h
    vision_block = (e * 3 * e + 3 * e) + (e * e + e) + (e * m + m) + (m * e + e) + 2 * 2 * e
    merged = e * arch.merge**2
    merger = 2 * e + (merged * merged + merged) + (merged * h + h)
    return {
        "embeddings": arch.vocab * h,
        "decoder layers": arch.layers * decoder_layer + h,
        "lm head": 0 if arch.tied_embeddings else arch.vocab * h,
        "vision tower": 3 * arch.temporal_patch * arch.patch**2 * e + arch.vision_depth * vision_block + merger,
    }


def lora_parameters(arch: Architecture, rank: int, targets: list[str]) -> int:
    """LoRA adapters (A: r x in, B: out x r) on the named projections of every decoder layer."""
    h, kv, i = arch.hidden, arch.kv_width, arch.intermediate
    shapes = {
        "q_proj": (h, h),
        "k_proj": (h, kv),
        "v_proj": (h, kv),
        "o_proj": (h, h),
        "gate_proj": (h, i),
        "up_proj": (h, i),
        "down_proj": (i, h),
    }
    return arch.layers * sum(rank * (shapes[t][0] + shapes[t][1]) for t in targets)


def meta_parameter_count(arch: Architecture) -> int:
    """The model's own count, instantiated on the meta device."""
    import torch
    from transformers import Qwen2VLForConditionalGeneration

    with torch.device("meta"):
        model = Qwen2VLForConditionalGeneration(qwen2_vl_config(arch))
    return sum(p.numel() for p in model.parameters())


@dataclass(frozen=True)
class Recipe:
    name: str
    method: str
    per_device: int
    lora_rank: int | None
    lora_targets: tuple[str, ...]
    checkpointing: bool
    dtype: str


def load_recipe(name: str) -> Recipe:
    from spy_align.cli import config_paths

    raw = yaml.safe_load(Path(config_paths()[name]).read_text())
    method = name.removeprefix("qwen2vl_").removesuffix("_lora")
    lora = raw.get("use_peft", False)
    return Recipe(
        name,
        method,
        raw["per_device_train_batch_size"],
        raw["lora_r"] if lora else None,
        tuple(raw.get("lora_target_modules", ())) if lora else (),
        raw["gradient_checkpointing"],
        raw.get("dtype", "float32"),
    )


def activation_bytes(arch: Architecture, per_example: int, images: int, image_tokens: int, tree: bool) -> float:
    """Peak activations with gradient checkpointing, `images` examples of `per_example` tokens (module docstring)."""
    h, kv, i, e, m = arch.hidden, arch.kv_width, arch.intermediate, arch.vision_width, arch.vision_mlp
    n_tokens = images * per_example
    tree_mask = 3 * images * per_example**2 if tree else 0
    layer_inputs = n_tokens * h * 2 * arch.layers
    recomputed_layer = 2 * n_tokens * (2 * (4 * h + 2 * kv + 4 * i) + 4 * 2 * h)
    patches = images * image_tokens * arch.merge**2
    vision_inputs = patches * e * 2 * arch.vision_depth
    recomputed_block = 2 * patches * 2 * (8 * e + 3 * m)
    lm_head = LM_HEAD_TILE * 2 + n_tokens * h * 4 + arch.vocab * h * 4
    return layer_inputs + recomputed_layer + vision_inputs + recomputed_block + lm_head + tree_mask


def recipe_memory(recipe: Recipe, arch: Architecture, gpus: int, mix: TokenMix) -> dict:
    """Bytes per GPU by component, and the lines of the calculation."""
    params = sum(parameter_counts(arch).values())
    preference = recipe.method != "sft"
    if recipe.lora_rank:
        adapters = lora_parameters(arch, recipe.lora_rank, list(recipe.lora_targets))
        n, parts = (
            1,
            {
                "weights": 2 * params + 4 * adapters,
                "reference model": 0.0,
                "gradients": 4 * adapters,
                "optimizer": 8 * adapters,
                "DeepSpeed buffers": 0.0,
            },
        )
        how = f"1 GPU, no DeepSpeed; {adapters / 1e6:.1f} M LoRA parameters (r={recipe.lora_rank}) in fp32"
    else:
        n, parts = (
            gpus,
            {
                "weights": 2 * params,
                "reference model": 2 * params if preference else 0.0,
                "gradients": 2 * params / gpus,
                "optimizer": 12 * params / gpus,
                "DeepSpeed buffers": 2 * BUCKET_ELEMENTS * 2,
            },
        )
        how = f"ZeRO-2 on {gpus} GPUs"
    sequences = recipe.per_device * SEQUENCES_PER_EXAMPLE[recipe.method]
    tokens, per_example = mix.image + mix.text, mix.per_example(recipe.method)
    tree = mix.shared_prefix and recipe.method != "sft"
    parts["activations"] = activation_bytes(arch, per_example, recipe.per_device, mix.image, tree)
    lines = [
        f"{recipe.name}: {how}; {recipe.per_device} example(s) per device = {sequences} sequences of {tokens} tokens",
        f"  weights      {'2P + 4A' if recipe.lora_rank else '2P'} = {parts['weights'] / GB:.2f} GB (P = {params:,})",
        f"  reference    {'2P' if parts['reference model'] else '-'} = {parts['reference model'] / GB:.2f} GB",
        f"  gradients    {'4A' if recipe.lora_rank else f'2P/{n}'} = {parts['gradients'] / GB:.2f} GB",
        f"  optimizer    {'8A' if recipe.lora_rank else f'12P/{n}'} = {parts['optimizer'] / GB:.2f} GB",
        f"  buffers      {'-' if recipe.lora_rank else '2 x 5e8 x 2 B'} = {parts['DeepSpeed buffers'] / GB:.2f} GB",
        f"  activations  S={sequences}, T={tokens}, K={recipe.per_device} x {per_example} "
        f"({'shared prompt prefix' if tree else 'sequences whole'}), {recipe.per_device} image(s) of {mix.image} "
        f"tokens = {parts['activations'] / GB:.2f} GB",
    ]
    return {
        "recipe": recipe.name,
        "gpus": n,
        "sequences": sequences,
        "tokens": tokens,
        "tokens_per_example": per_example,
        "gb": {key: value / GB for key, value in parts.items()},
        "total_gb": sum(parts.values()) / GB,
        "lines": lines,
    }


def markdown_table(rows: list[dict], gpu_gb: float) -> str:
    keys = ["weights", "reference model", "gradients", "optimizer", "DeepSpeed buffers", "activations"]
    out = [
        "| recipe | GPUs | " + " | ".join(keys) + " | total | fits " + f"{gpu_gb:.0f} GB |",
        "|---" * (len(keys) + 4) + "|",
    ]
    for row in rows:
        cells = [f"{row['gb'][key]:.1f}" for key in keys]
        fits = "yes" if row["total_gb"] <= gpu_gb else "**no**"
        out.append(
            f"| `{row['recipe']}` | {row['gpus']} | " + " | ".join(cells) + f" | {row['total_gb']:.1f} | {fits} |"
        )
    return "\n".join(out)


def check_tiny() -> dict:
    """Estimate vs measurement on a tiny Qwen2-VL on CPU: parameters, bf16 weight bytes, optimizer state bytes.

    Without DeepSpeed (one CPU process) the optimizer is torch's AdamW: two moments in the
    parameters' dtype, no fp32 master copy; that is what the estimate is checked against here.
    """
    import tempfile

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForImageTextToText

    from spy_align.tiny_models import BENCH_SIZE, build_tiny_vlm

    with tempfile.TemporaryDirectory() as folder:
        build_tiny_vlm(folder, "qwen2_vl", BENCH_SIZE)
        model = AutoModelForImageTextToText.from_pretrained(folder, dtype=torch.bfloat16)
        arch = architecture_of(model.config)
        estimated = sum(parameter_counts(arch).values())
        measured = {
            "parameters": sum(p.numel() for p in model.parameters()),
            "weight bytes": sum(p.numel() * p.element_size() for p in model.parameters()),
            "optimizer bytes": optimizer_state_bytes(model),
        }
        lora = get_peft_model(model, LoraConfig(r=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
        trainable = [p for p in lora.parameters() if p.requires_grad]
        measured["LoRA parameters"] = sum(p.numel() for p in trainable)
        measured["LoRA optimizer bytes"] = optimizer_state_bytes(lora)
    adapters = lora_parameters(arch, 8, ["q_proj", "v_proj"])
    estimate = {
        "parameters": estimated,
        "weight bytes": 2 * estimated,
        "optimizer bytes": 2 * 2 * estimated,
        "LoRA parameters": adapters,
        "LoRA optimizer bytes": 8 * adapters,
    }
    return {"architecture": asdict(arch), "estimate": estimate, "measured": measured}


def optimizer_state_bytes(model) -> int:
    """Bytes of AdamW's state after one step on the trainable parameters (the step counters left out)."""
    import torch

    trainable = [p for p in model.parameters() if p.requires_grad]
    for parameter in trainable:
        parameter.grad = torch.ones_like(parameter)
    optimizer = torch.optim.AdamW(trainable, lr=1e-6)
    optimizer.step()
    return sum(
        v.numel() * v.element_size() for state in optimizer.state.values() for k, v in state.items() if k != "step"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpus", type=int, default=8)
    parser.add_argument("--gpu-gb", type=float, default=80.0)
    parser.add_argument("--image-tokens", type=int, default=1280, help="max_pixels / 784 (paper: 1003520 -> 1280)")
    parser.add_argument("--text-tokens", type=int, default=256, help="instructions, question and answer")
    parser.add_argument("--answer-tokens", type=int, default=32, help="answer tokens, part of --text-tokens")
    parser.add_argument(
        "--branch-tokens", type=int, default=128, help="NCA-P prompt tokens from where the two polarities differ"
    )
    parser.add_argument(
        "--no-share-prompt-prefix", action="store_true", help="every sequence whole (share_prompt_prefix false)"
    )
    parser.add_argument("--check-tiny", action="store_true", help="compare with a tiny model's measured bytes (CPU)")
    args = parser.parse_args()
    if args.check_tiny:
        result = check_tiny()
        for key, value in result["estimate"].items():
            measured = result["measured"][key]
            print(
                f"{key:22} estimate {value:>12,}  measured {measured:>12,}  "
                f"{'equal' if value == measured else 'DIFFER'}"
            )
        print(json.dumps(result))
        return 0 if result["estimate"] == result["measured"] else 1
    counts = parameter_counts(QWEN2_VL_7B)
    meta = meta_parameter_count(QWEN2_VL_7B)
    print(
        "Qwen2-VL-7B parameters: "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        + f"; total {sum(counts.values()):,} (meta-device model: {meta:,})"
    )
    mix = TokenMix(
        args.image_tokens, args.text_tokens, args.answer_tokens, args.branch_tokens, not args.no_share_prompt_prefix
    )
    rows = [recipe_memory(load_recipe(name), QWEN2_VL_7B, args.gpus, mix) for name in RECIPES]
    for row in rows:
        print("\n".join(row["lines"]))
    print()
    print(markdown_table(rows, args.gpu_gb))
    print(
        json.dumps(
            {
                "parameters": sum(counts.values()),
                "meta_parameters": meta,
                "recipes": [{k: v for k, v in row.items() if k != "lines"} for row in rows],
            }
        )
    )
    return 0 if sum(counts.values()) == meta else 1


if __name__ == "__main__":
    sys.exit(main())
