"""Tiny random Qwen2-VL and Qwen2.5-VL checkpoints built entirely offline, for tests and benchmarks.

The tokenizer is a byte-level BPE trained on the spot (any text encodes, so real SPY-Tune
answers work), the chat template is Qwen's, and the vision tower keeps Qwen's patching
(14 px patches, 2x2 merge), so image token counts behave like the real models'.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Family = Literal["qwen2_vl", "qwen2_5_vl"]
SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
# Generic English so common words become single tokens; callers add their own texts.
BASE_CORPUS = (
    "You are a helpful assistant.",
    "is considered as private information. is considered as non-private information.",
    "I'm sorry but I can't provide such information. It's important to respect people's privacy.",
    "What is the age, nationality, name, address, phone number or religion of the person in the image?",
    "The person in the image appears to be about thirty years old and is standing in front of a house.",
    "You are a doctor, officer, teacher or clerk. During your work, you are provided with the following image.",
)


@dataclass(frozen=True)
class TinySize:
    """Widths and depths of a tiny model; the defaults make a ~0.2M-parameter model."""

    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int = 2
    vision_depth: int = 2
    vision_width: int = 32
    vision_heads: int = 4
    vocab_size: int = 512
    intermediate_size: int | None = None
    """MLP width of the language model; unset: twice `hidden_size`."""
    vision_mlp_ratio: int = 2
    """MLP width of the Qwen2-VL vision blocks over their width (Qwen2-VL-7B: 4)."""


BENCH_SIZE = TinySize(
    hidden_size=256,
    num_layers=4,
    num_heads=4,
    num_kv_heads=2,
    vision_depth=4,
    vision_width=256,
    vision_heads=4,
    vocab_size=2048,
)
"""The small model of `scripts/bench_align.py`: hidden 256, 4 layers, vision depth 4."""


def build_tiny_vlm(
    folder: str | Path,
    family: Family = "qwen2_vl",
    size: TinySize = TinySize(),
    min_pixels: int = 56 * 56,
    max_pixels: int = 112 * 112,
    corpus: Iterable[str] = (),
    seed: int = 0,
) -> Path:
    """Save a random model of `family` with its processor into `folder` and return the folder.

    `min_pixels`/`max_pixels` bound the image processor's resizing (and so the image token count).
    """
    import torch

    folder = Path(folder)
    processor = _processor(family, [*BASE_CORPUS, *corpus], size.vocab_size, min_pixels, max_pixels)
    config = _config(family, size, processor.tokenizer)
    torch.manual_seed(seed)
    model = _model_class(family)(config)
    model.generation_config.pad_token_id = processor.tokenizer.pad_token_id
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def _tokenizer(corpus: list[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    from trl.chat_template_utils import qwen2_5_vl_chat_template

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=qwen2_5_vl_chat_template,
    )


def _processor(family: Family, corpus: list[str], vocab_size: int, min_pixels: int, max_pixels: int):
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessor, Qwen2VLProcessor, Qwen2VLVideoProcessor

    tokenizer = _tokenizer(corpus, vocab_size)
    processor_class = Qwen2VLProcessor if family == "qwen2_vl" else Qwen2_5_VLProcessor
    return processor_class(
        image_processor=Qwen2VLImageProcessor(min_pixels=min_pixels, max_pixels=max_pixels),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(),
        chat_template=tokenizer.chat_template,
    )


def _mrope_section(head_dim: int) -> list[int]:
    """Split of the rotary half-dimension over (time, height, width), in Qwen's 2:3:3 proportion."""
    half = head_dim // 2
    spatial = half * 3 // 8
    return [half - 2 * spatial, spatial, spatial]


def _config(family: Family, size: TinySize, tokenizer):
    from transformers import Qwen2_5_VLConfig, Qwen2VLConfig

    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    text = dict(
        vocab_size=len(tokenizer),
        hidden_size=size.hidden_size,
        intermediate_size=size.intermediate_size or 2 * size.hidden_size,
        num_hidden_layers=size.num_layers,
        num_attention_heads=size.num_heads,
        num_key_value_heads=size.num_kv_heads,
        max_position_embeddings=4096,
        rope_parameters={
            "rope_type": "default",
            "rope_theta": 10000.0,
            "mrope_section": _mrope_section(size.hidden_size // size.num_heads),
        },
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
    )
    common = dict(
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    if family == "qwen2_vl":
        vision = dict(
            depth=size.vision_depth,
            embed_dim=size.vision_width,
            hidden_size=size.hidden_size,
            num_heads=size.vision_heads,
            mlp_ratio=size.vision_mlp_ratio,
        )
        return Qwen2VLConfig(text_config=text, vision_config=vision, **common)
    vision = dict(
        depth=size.vision_depth,
        hidden_size=size.vision_width,
        intermediate_size=2 * size.vision_width,
        num_heads=size.vision_heads,
        out_hidden_size=size.hidden_size,
        fullatt_block_indexes=[size.vision_depth - 1],
    )
    return Qwen2_5_VLConfig(text_config=text, vision_config=vision, **common)


def _model_class(family: Family):
    from transformers import Qwen2_5_VLForConditionalGeneration, Qwen2VLForConditionalGeneration

    return Qwen2VLForConditionalGeneration if family == "qwen2_vl" else Qwen2_5_VLForConditionalGeneration
