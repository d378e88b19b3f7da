"""`spy-align sft`: supervised fine-tuning on the SPY-Tune target answers (SPEC section 7).

    spy-align sft --config recipe.yaml [--option value ...]
    accelerate launch --config_file zero2.yaml -m spy_align.scripts.sft --config recipe.yaml
"""

from __future__ import annotations

from trl import ModelConfig, SFTTrainer, TrlParser

from ..configs import SpySFTConfig, SpyTuneArguments
from ..training import run_method
from ..tune_datasets import sft_dataset


def make_parser(prog: str | None = None) -> TrlParser:
    return TrlParser((SpyTuneArguments, SpySFTConfig, ModelConfig), prog=prog)


def main(script_args: SpyTuneArguments, training_args: SpySFTConfig, model_args: ModelConfig) -> None:
    run_method("sft", SFTTrainer, sft_dataset, script_args, training_args, model_args)


if __name__ == "__main__":
    main(*make_parser().parse_args_and_config())
