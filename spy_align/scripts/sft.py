"""`spy-align sft`: supervised fine-tuning on the SPY-Tune target answers (docs/specification.md §7).

spy-align sft --config recipe.yaml [--option value ...]
accelerate launch --config_file zero2.yaml -m spy_align.scripts.sft --config recipe.yaml
"""

from __future__ import annotations

import sys

from trl import ModelConfig, SFTTrainer, TrlParser

from ..configs import SPYSFTConfig, SPYTuneArguments
from ..training import run_method
from ..tune_datasets import sft_dataset


def make_parser(prog: str | None = None) -> TrlParser:
    return TrlParser((SPYTuneArguments, SPYSFTConfig, ModelConfig), prog=prog)


def main(script_args: SPYTuneArguments, training_args: SPYSFTConfig, model_args: ModelConfig) -> None:
    run_method("sft", SFTTrainer, sft_dataset, script_args, training_args, model_args)


if __name__ == "__main__":
    from ..cli import run_script

    sys.exit(run_script("sft", sys.argv[1:]))
