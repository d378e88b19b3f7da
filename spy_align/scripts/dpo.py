"""`spy-align dpo`: DPO (sigmoid loss) on SPY-Tune preference pairs (SPEC section 7).

    spy-align dpo --config recipe.yaml [--option value ...]
    accelerate launch --config_file zero2.yaml -m spy_align.scripts.dpo --config recipe.yaml
"""

from __future__ import annotations

from trl import ModelConfig, TrlParser

from ..configs import SpyDPOConfig, SpyTuneArguments
from ..preference_trainer import SpyDPOTrainer
from ..training import run_method
from ..tune_datasets import preference_dataset


def make_parser(prog: str | None = None) -> TrlParser:
    return TrlParser((SpyTuneArguments, SpyDPOConfig, ModelConfig), prog=prog)


def main(script_args: SpyTuneArguments, training_args: SpyDPOConfig, model_args: ModelConfig) -> None:
    run_method("dpo", SpyDPOTrainer, preference_dataset, script_args, training_args, model_args)


if __name__ == "__main__":
    main(*make_parser().parse_args_and_config())
