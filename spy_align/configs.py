"""Configurations: one per trainer (TRL configs with SPY-Tune defaults) and the script arguments.

Defaults that differ from TRL's, and why:
- `bf16` is on only where the hardware supports it (TRL turns it on everywhere, CPUs included);
  the GPU recipes set it, with bf16 weights (`dtype: bfloat16`), as the paper's runs did;
- `tf32` is on where the GPU has it (Ampere and newer), as in the paper's runs; `--tf32 false` turns
  it off, and `--tf32 true` without such a GPU is an error;
- `max_length` is 2048: Qwen2-VL at the paper's `max_pixels` (1003520) spends up to 1280 tokens
  on the image, which TRL's 1024 would cut off.
Preference losses are checked when the configuration is built, before any model loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from trl import DPOConfig, SFTConfig

SPY_MAX_LENGTH = 2048
_MAX_LENGTH_HELP = (
    "Maximum tokens of prompt + answer, image tokens included (Qwen2-VL: max_pixels / 784). The default fits the "
    "paper's max_pixels=1003520."
)
_BF16_HELP = "bf16 mixed precision. Unset: on where a GPU supports it, off on CPU."
_TF32_HELP = "TF32 matmuls on Ampere and newer GPUs. Unset: on where the GPU has them."
TRL_PREFERENCE_LOSSES = (
    "sigmoid",
    "hinge",
    "ipo",
    "exo_pair",
    "nca_pair",
    "robust",
    "bco_pair",
    "sppo_hard",
    "aot",
    "aot_unpaired",
    "apo_zero",
    "apo_down",
    "discopop",
    "sft",
    "sigmoid_norm",
)
"""The `loss_type` values TRL 1.16's `DPOTrainer` implements (it checks them only at the first step)."""


def bf16_supported() -> bool:
    """Whether an accelerator here runs bf16 (CPUs are left out: emulated bf16 is slow there)."""
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def tf32_supported() -> bool:
    from transformers.utils import is_torch_tf32_available

    return is_torch_tf32_available()


def _resolve_precision(config: SFTConfig | DPOConfig) -> None:
    if config.bf16 is None and not config.fp16:
        config.bf16 = bf16_supported() and not config.use_cpu
    if config.tf32 is None and not config.use_cpu and tf32_supported():
        config.tf32 = True


def check_loss_types(loss_type: str | list[str], config: type | None = None) -> list[str]:
    """`loss_type` as a list; ValueError naming every value TRL does not implement, or that `config` (a
    trainer config class with a fixed loss, such as `NCAPConfig`) does not take."""
    loss_types = [loss_type] if isinstance(loss_type, str) else list(loss_type)
    unknown = [value for value in loss_types if value not in TRL_PREFERENCE_LOSSES]
    if unknown:
        raise ValueError(
            f"unknown loss_type {', '.join(map(repr, unknown))} (TRL's preference losses: "
            f"{', '.join(TRL_PREFERENCE_LOSSES)})"
        )
    fixed = getattr(config, "FIXED_LOSS_TYPE", None)
    if fixed is not None and loss_types != fixed:
        raise ValueError(f"{config.__name__} uses loss_type {fixed} only, got {loss_types}")
    return loss_types


@dataclass
class SPYSFTConfig(SFTConfig):
    """`SFTConfig` for SPY-Tune SFT; trained with TRL's `SFTTrainer` on prompt/completion data (answer tokens only)."""

    max_length: int | None = field(default=SPY_MAX_LENGTH, metadata={"help": _MAX_LENGTH_HELP})
    bf16: bool | None = field(default=None, metadata={"help": _BF16_HELP})
    tf32: bool | None = field(default=None, metadata={"help": _TF32_HELP})

    def __post_init__(self) -> None:
        _resolve_precision(self)
        super().__post_init__()


@dataclass
class SPYDPOConfig(DPOConfig):
    """`DPOConfig` for `SPYDPOTrainer`: DPO (`loss_type=sigmoid`, the default) or any TRL preference loss."""

    max_length: int | None = field(default=SPY_MAX_LENGTH, metadata={"help": _MAX_LENGTH_HELP})
    bf16: bool | None = field(default=None, metadata={"help": _BF16_HELP})
    tf32: bool | None = field(default=None, metadata={"help": _TF32_HELP})
    share_image_features: bool = field(
        default=True,
        metadata={
            "help": "Encode each image once per batch and reuse its features for every sequence showing it (DPO: 2, "
            "NCA-P: 4), instead of running the vision tower on every copy as stock TRL does. Needs a transformers "
            "model that accepts `mm_encoder_outputs`; set False for others."
        },
    )
    share_prompt_prefix: bool = field(
        default=True,
        metadata={
            "help": "Run the prompt (image tokens included) once per example for all its answers: the example's "
            "sequences packed as a token tree with a tree attention mask and each branch's own positions "
            "(docs/training.md). Same losses and gradients as False, which runs every sequence whole. Needs sdpa or "
            "eager attention and a Qwen2-VL-family model."
        },
    )

    def __post_init__(self) -> None:
        self.loss_type = check_loss_types(self.loss_type)
        _resolve_precision(self)
        super().__post_init__()


@dataclass
class SPYNCAConfig(SPYDPOConfig):
    """`SPYDPOConfig` whose loss defaults to NCA (`nca_pair`)."""

    loss_type: list[str] = field(
        default_factory=lambda: ["nca_pair"],
        metadata={"help": "TRL preference loss(es); NCA is `nca_pair`."},
    )


@dataclass
class NCAPConfig(SPYDPOConfig):
    """Configuration of `NCAPTrainer`: NCA-P = NCA(non-private pair) + NCA(private pair), per example.

    The loss is fixed: TRL's `nca_pair` over the batch's pairs, weighted 2 because TRL averages over
    pairs while NCA-P sums the two pairs of each example (docs/specification.md §7).
    """

    loss_type: list[str] = field(
        default_factory=lambda: ["nca_pair"],
        metadata={"help": "Fixed to `nca_pair` for NCA-P."},
    )
    loss_weights: list[float] | None = field(
        default=None,
        metadata={"help": "Fixed to [2.0] for NCA-P: two NCA pairs per example are summed, not averaged."},
    )

    FIXED_LOSS_TYPE: ClassVar[list[str]] = ["nca_pair"]

    def __post_init__(self) -> None:
        check_loss_types(self.loss_type, NCAPConfig)
        if self.loss_weights not in (None, [2.0]):
            raise ValueError(f"NCA-P fixes loss_weights to [2.0], got {self.loss_weights}")
        self.loss_weights = [2.0]
        super().__post_init__()


@dataclass
class SPYTuneArguments:
    """Script arguments of `spy-align`: the SPY-Tune data and what to do around training."""

    train_file: str = field(metadata={"help": "SPY-Tune training file (`train_data.json`)."})
    images_root: str = field(metadata={"help": "Folder the items' `image_path`s are relative to (VISPR images)."})
    eval_file: str | None = field(
        default=None,
        metadata={"help": "SPY-Tune evaluation file (`eval_data.json`): eval loss and logged generations."},
    )
    label2text_file: str | None = field(
        default=None, metadata={"help": "`label2text.json`: attribute id -> text used inside instructions."}
    )
    distractors: bool = field(
        default=True,
        metadata={
            "help": "Instruction blocks with the items' distractor attributes (`other_labels`), as in the paper."
        },
    )
    min_pixels: int | None = field(
        default=None, metadata={"help": "Smallest image area after resizing (Qwen-style processors); paper: 200704."}
    )
    max_pixels: int | None = field(
        default=None, metadata={"help": "Largest image area after resizing (Qwen-style processors); paper: 1003520."}
    )
    generation_steps: int = field(
        default=0,
        metadata={
            "help": "Every this many steps, generate answers to a few evaluation prompts and log them; 0: never."
        },
    )
    generation_prompts_per_polarity: int = field(
        default=2, metadata={"help": "Logged prompts per instruction polarity (non-private, private)."}
    )
    generation_max_new_tokens: int = field(default=48, metadata={"help": "Length limit of logged answers."})
    register_checkpoints: bool = field(
        default=True,
        metadata={"help": "Record the final and epoch checkpoints in the SPY-Bench model registry (if installed)."},
    )
