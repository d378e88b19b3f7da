"""`spy-align nca`: NCA (TRL's `nca_pair` loss) on SPY-Tune preference pairs (SPEC section 7).

    spy-align nca --config recipe.yaml [--option value ...]
    accelerate launch --config_file zero2.yaml -m spy_align.scripts.nca --config recipe.yaml
"""

from __future__ import annotations

from trl import ModelConfig, TrlParser

from ..configs import SpyNCAConfig, SpyTuneArguments
from ..preference_trainer import SpyDPOTrainer
from ..training import run_method
from ..tune_datasets import preference_dataset


def make_parser(prog: str | None = None) -> TrlParser:
    return TrlParser((SpyTuneArguments, SpyNCAConfig, ModelConfig), prog=prog)


def main(script_args: SpyTuneArguments, training_args: SpyNCAConfig, model_args: ModelConfig) -> None:
    run_method("nca", SpyDPOTrainer, preference_dataset, script_args, training_args, model_args)


if __name__ == "__main__":
    main(*make_parser().parse_args_and_config())
