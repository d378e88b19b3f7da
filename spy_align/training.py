"""The body shared by the method scripts: data, model settings, trainer, training, saving, registry."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from transformers import AutoProcessor, ProcessorMixin, Trainer
from trl import ModelConfig, get_peft_config

from vlmeval_spy.release import Item

from .configs import SpyTuneArguments
from .generation_logging import GenerationLogCallback, pick_per_polarity
from .registry_hook import register_run
from .tune_datasets import load_tune_items, preference_dataset

DatasetBuilder = Callable[[list[Item], str, bool], Dataset]


def default_attention() -> str:
    """flash-attn 2 where it can run (installed and a GPU present), else PyTorch's sdpa."""
    if torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def model_init_kwargs(model_args: ModelConfig, training_args: Any) -> dict[str, Any]:
    """`from_pretrained` arguments from the model config; the training config's own entries win."""
    kwargs = dict(
        revision=model_args.model_revision, trust_remote_code=training_args.trust_remote_code,
        attn_implementation=model_args.attn_implementation or default_attention(), dtype=model_args.dtype,
    )
    return {**kwargs, **(training_args.model_init_kwargs or {})}


def pixel_kwargs(script_args: SpyTuneArguments) -> dict[str, int]:
    """The image-size bounds given on the command line, for the processor and for evaluation."""
    bounds = {"min_pixels": script_args.min_pixels, "max_pixels": script_args.max_pixels}
    return {key: value for key, value in bounds.items() if value is not None}


def load_processor(model_args: ModelConfig, script_args: SpyTuneArguments, trust_remote_code: bool) -> ProcessorMixin:
    return AutoProcessor.from_pretrained(
        model_args.model_name_or_path, revision=model_args.model_revision, trust_remote_code=trust_remote_code,
        **pixel_kwargs(script_args),
    )


def peft_config(model_args: ModelConfig) -> Any:
    """TRL's LoRA config, with `--lora_target_modules all-linear` meaning PEFT's shorthand (not a module name)."""
    if model_args.lora_target_modules == ["all-linear"]:
        model_args.lora_target_modules = "all-linear"
    return get_peft_config(model_args)


def run_name(training_args: Any) -> str:
    return training_args.run_name or Path(training_args.output_dir).name


def run_method(method: str, trainer_class: type[Trainer], build_dataset: DatasetBuilder,
               script_args: SpyTuneArguments, training_args: Any, model_args: ModelConfig) -> Trainer:
    """Train `method` on the SPY-Tune files of `script_args`, save, and register the checkpoints."""
    if model_args.model_name_or_path is None:
        raise ValueError(f"spy-align {method}: --model_name_or_path is required")
    train_items = _load_items(script_args, script_args.train_file)
    eval_items = _load_items(script_args, script_args.eval_file) if script_args.eval_file else None
    training_args.model_init_kwargs = model_init_kwargs(model_args, training_args)
    trainer = trainer_class(
        model=model_args.model_name_or_path, args=training_args,
        train_dataset=_dataset(build_dataset, train_items, script_args),
        eval_dataset=_dataset(build_dataset, eval_items, script_args),
        processing_class=load_processor(model_args, script_args, training_args.trust_remote_code),
        peft_config=peft_config(model_args),
    )
    if script_args.generation_steps > 0:
        trainer.add_callback(_generation_logger(trainer, script_args, eval_items or train_items))
    # VLMEvalKit turns autograd off process-wide when imported; training must not depend on who came first.
    with torch.enable_grad():
        trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    trainer.save_model(training_args.output_dir)
    if script_args.register_checkpoints and trainer.accelerator.is_main_process:
        _register(method, script_args, training_args, model_args)
    trainer.accelerator.wait_for_everyone()
    return trainer


def _load_items(script_args: SpyTuneArguments, data_file: str) -> list[Item]:
    return load_tune_items(data_file, script_args.images_root, script_args.label2text_file)


def _dataset(build_dataset: DatasetBuilder, items: list[Item] | None, script_args: SpyTuneArguments) -> Dataset | None:
    return None if items is None else build_dataset(items, script_args.images_root, script_args.distractors)


def _generation_logger(trainer: Trainer, script_args: SpyTuneArguments, items: list[Item]) -> GenerationLogCallback:
    """Logged prompts: the first plain questions of each polarity (evaluation items when given)."""
    candidates = preference_dataset(items, script_args.images_root, script_args.distractors)
    prompts = pick_per_polarity(candidates, script_args.generation_prompts_per_polarity)
    return GenerationLogCallback(trainer, prompts, script_args.generation_steps, script_args.generation_max_new_tokens)


def _register(method: str, script_args: SpyTuneArguments, training_args: Any, model_args: ModelConfig) -> None:
    info: dict[str, Any] = {"base_model": model_args.model_name_or_path, "lora": model_args.use_peft}
    if pixel_kwargs(script_args):
        info["model_kwargs"] = pixel_kwargs(script_args)
    names = register_run(training_args.output_dir, run_name(training_args), method, **info)
    if names:
        print(f"spy-align {method}: registered {', '.join(names)} for evaluation (spy-bench / VLMEvalKit)")
