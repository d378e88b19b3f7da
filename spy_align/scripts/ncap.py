"""`spy-align ncap`: NCA-P on SPY-Tune polarity pairs (docs/specification.md §7).

spy-align ncap --config recipe.yaml [--option value ...]
accelerate launch --config_file zero2.yaml -m spy_align.scripts.ncap --config recipe.yaml
"""

from __future__ import annotations

import sys

from trl import ModelConfig, TrlParser

from ..configs import NCAPConfig, SPYTuneArguments
from ..ncap_trainer import NCAPTrainer
from ..training import run_method
from ..tune_datasets import paired_dataset


def make_parser(prog: str | None = None) -> TrlParser:
    return TrlParser((SPYTuneArguments, NCAPConfig, ModelConfig), prog=prog)


def main(script_args: SPYTuneArguments, training_args: NCAPConfig, model_args: ModelConfig) -> None:
    run_method("ncap", NCAPTrainer, paired_dataset, script_args, training_args, model_args)


if __name__ == "__main__":
    from ..cli import run_script

    sys.exit(run_script("ncap", sys.argv[1:]))
