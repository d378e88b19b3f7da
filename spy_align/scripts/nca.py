"""`spy-align nca`: NCA (TRL's `nca_pair` loss) on SPY-Tune preference pairs (docs/specification.md §7).

spy-align nca --config recipe.yaml [--option value ...]
accelerate launch --config_file zero2.yaml -m spy_align.scripts.nca --config recipe.yaml
"""

from __future__ import annotations

import sys

from trl import ModelConfig, TrlParser

from ..configs import SPYNCAConfig, SPYTuneArguments
from ..preference_trainer import SPYDPOTrainer
from ..training import run_method
from ..tune_datasets import preference_dataset


def make_parser(prog: str | None = None) -> TrlParser:
    return TrlParser((SPYTuneArguments, SPYNCAConfig, ModelConfig), prog=prog)


def main(script_args: SPYTuneArguments, training_args: SPYNCAConfig, model_args: ModelConfig) -> None:
    run_method("nca", SPYDPOTrainer, preference_dataset, script_args, training_args, model_args)


if __name__ == "__main__":
    from ..cli import run_script

    sys.exit(run_script("nca", sys.argv[1:]))
