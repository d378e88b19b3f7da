"""The body shared by the method scripts: inputs checked, model settings, trainer, training, saving, registry."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from transformers import AutoProcessor, ProcessorMixin, Trainer, TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, IntervalStrategy
from trl import ModelConfig, get_peft_config

from vlmeval_spy.bench.release import Item
from vlmeval_spy.common.errors import Problem, SpyDataError
from vlmeval_spy.models.serving.attention import default_attention

from .configs import SPYTuneArguments
from .generation_logging import GenerationLogCallback, pick_per_polarity
from .registry_hook import on_checkpoint_saved, register_checkpoint, registry_name
from .tune_datasets import load_tune_files, preference_dataset

DatasetBuilder = Callable[[list[Item], str, bool], Dataset]


def model_init_kwargs(model_args: ModelConfig, training_args: Any) -> dict[str, Any]:
    """`from_pretrained` arguments from the model config; the training config's own entries win."""
    kwargs = dict(
        revision=model_args.model_revision,
        trust_remote_code=training_args.trust_remote_code,
        attn_implementation=model_args.attn_implementation or _default_attention(training_args),
        dtype=model_args.dtype,
    )
    return {**kwargs, **(training_args.model_init_kwargs or {})}


def _default_attention(training_args: Any) -> str:
    # The shared-prefix forward needs a tree attention mask, which flash-attn 2 does not take.
    return "sdpa" if getattr(training_args, "share_prompt_prefix", False) else default_attention()


def pixel_kwargs(script_args: SPYTuneArguments) -> dict[str, int]:
    """The image-size bounds given on the command line, for the processor and for evaluation."""
    bounds = {"min_pixels": script_args.min_pixels, "max_pixels": script_args.max_pixels}
    return {key: value for key, value in bounds.items() if value is not None}


def load_processor(model_args: ModelConfig, script_args: SPYTuneArguments, trust_remote_code: bool) -> ProcessorMixin:
    return AutoProcessor.from_pretrained(
        model_args.model_name_or_path,
        revision=model_args.model_revision,
        trust_remote_code=trust_remote_code,
        **pixel_kwargs(script_args),
    )


def peft_config(model_args: ModelConfig) -> Any:
    """TRL's LoRA config, with `--lora_target_modules all-linear` meaning PEFT's shorthand (not a module name)."""
    if model_args.lora_target_modules == ["all-linear"]:
        model_args.lora_target_modules = "all-linear"
    return get_peft_config(model_args)


def run_name(training_args: Any) -> str:
    return training_args.run_name or Path(training_args.output_dir).name


def resolve_model_source(model_args: ModelConfig) -> list[Problem]:
    """Make a local model folder absolute, so that LoRA adapters and the registry work from any directory.

    Returns the problem when no model is given or a path-like name is not a folder.
    """
    name = model_args.model_name_or_path
    if not name:
        return [Problem("arguments", "missing (give a model folder or hub id)", field="model_name_or_path")]
    path = Path(name).expanduser()
    if path.is_dir():
        model_args.model_name_or_path = str(path.resolve())
    elif path.is_absolute() or name.startswith((".", "~")) or name.count("/") > 1:
        return [Problem("arguments", f"model folder not found: {name}", field="model_name_or_path")]
    return []


def resume_problems(checkpoint: str | None) -> list[Problem]:
    """A checkpoint to resume from must hold the optimizer state (`--save_only_model false` when it was saved)."""
    if checkpoint is None:
        return []
    folder = Path(checkpoint)
    if not folder.is_dir():
        return [Problem(checkpoint, "checkpoint folder not found", field="resume_from_checkpoint")]
    if not (folder / "optimizer.pt").is_file() and not list(folder.glob("global_step*")):
        message = (
            "holds the model only (saved with save_only_model): resuming needs the optimizer state; train from it "
            "with --model_name_or_path instead, or save with --save_only_model false"
        )
        return [Problem(checkpoint, message, field="resume_from_checkpoint")]
    return []


def load_inputs(
    script_args: SPYTuneArguments, training_args: Any, model_args: ModelConfig
) -> tuple[list[Item], list[Item] | None]:
    """The training and evaluation items, after checking every input; one `SpyDataError` lists all problems."""
    problems = [*resolve_model_source(model_args), *resume_problems(training_args.resume_from_checkpoint)]
    files = [script_args.train_file, *([script_args.eval_file] if script_args.eval_file else [])]
    try:
        train_items, *rest = load_tune_files(files, script_args.images_root, script_args.label2text_file)
    except SpyDataError as err:
        problems += err.problems
    if problems:
        raise SpyDataError(problems)
    return train_items, rest[0] if rest else None


def enable_eval_loss(training_args: Any) -> None:
    """With an evaluation file, evaluate (eval loss) at every save, else every epoch, unless told when."""
    if training_args.eval_strategy != IntervalStrategy.NO:
        return
    save = IntervalStrategy(training_args.save_strategy)
    if save == IntervalStrategy.STEPS:
        training_args.eval_strategy, training_args.eval_steps = IntervalStrategy.STEPS, training_args.save_steps
    else:
        training_args.eval_strategy = IntervalStrategy.EPOCH
    training_args.do_eval = True


def run_method(
    method: str,
    trainer_class: type[Trainer],
    build_dataset: DatasetBuilder,
    script_args: SPYTuneArguments,
    training_args: Any,
    model_args: ModelConfig,
) -> Trainer:
    """Train `method` on the SPY-Tune files of `script_args`, save, and register each checkpoint as saved.

    Every input is checked before any model loads; problems raise one `SpyDataError`.
    """
    train_items, eval_items = load_inputs(script_args, training_args, model_args)
    if eval_items is not None:
        enable_eval_loss(training_args)
    training_args.model_init_kwargs = model_init_kwargs(model_args, training_args)
    trainer = trainer_class(
        model=model_args.model_name_or_path,
        args=training_args,
        train_dataset=_dataset(build_dataset, train_items, script_args),
        eval_dataset=_dataset(build_dataset, eval_items, script_args),
        processing_class=load_processor(model_args, script_args, training_args.trust_remote_code),
        peft_config=peft_config(model_args),
    )
    warn_half_precision_updates(method, trainer, model_args)
    info = _provenance(script_args, model_args)
    if script_args.register_checkpoints:
        trainer.add_callback(RegisterCheckpointCallback(run_name(training_args), method, info))
    if script_args.generation_steps > 0:
        trainer.add_callback(_generation_logger(trainer, script_args, eval_items or train_items))
    # VLMEvalKit turns autograd off process-wide when imported; training must not depend on who came first.
    with torch.enable_grad():
        trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    trainer.save_model(training_args.output_dir)
    if script_args.register_checkpoints and trainer.accelerator.is_main_process:
        if on_checkpoint_saved(training_args.output_dir, run_name(training_args), method, **info):
            _announce(method, registry_name(run_name(training_args)))
    trainer.accelerator.wait_for_everyone()
    return trainer


def warn_half_precision_updates(method: str, trainer: Trainer, model_args: ModelConfig) -> None:
    """Say so when all weights train in bf16/fp16 without fp32 master weights (no DeepSpeed, no LoRA)."""
    half = model_args.dtype in ("bfloat16", "float16") and not model_args.use_peft
    if half and not trainer.is_deepspeed_enabled and trainer.accelerator.is_main_process:
        print(
            f"spy-align {method}: warning: the weights are {model_args.dtype} and no DeepSpeed optimizer keeps "
            f"fp32 master weights, so updates smaller than {model_args.dtype}'s precision (learning rates near "
            "1e-6) are lost; train under DeepSpeed (the zero2 config, as the paper) or with --dtype float32",
            file=sys.stderr,
            flush=True,
        )


class RegisterCheckpointCallback(TrainerCallback):
    """Record every `checkpoint-N` folder in the model registry as soon as it is saved (main process only)."""

    def __init__(self, run: str, method: str, info: dict[str, Any]) -> None:
        self.run, self.method, self.info = run, method, info

    def on_save(self, args, state, control, **kwargs) -> None:
        if not state.is_world_process_zero:
            return
        checkpoint = Path(args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"
        name = register_checkpoint(checkpoint, self.run, self.method, **self.info)
        if name:
            _announce(self.method, name)


def _announce(method: str, name: str) -> None:
    print(f"spy-align {method}: registered {name} for evaluation (spy-bench / VLMEvalKit)", flush=True)


def _dataset(build_dataset: DatasetBuilder, items: list[Item] | None, script_args: SPYTuneArguments) -> Dataset | None:
    return None if items is None else build_dataset(items, script_args.images_root, script_args.distractors)


def _generation_logger(trainer: Trainer, script_args: SPYTuneArguments, items: list[Item]) -> GenerationLogCallback:
    """Logged prompts: the first plain questions of each polarity (evaluation items when given)."""
    candidates = preference_dataset(items, script_args.images_root, script_args.distractors)
    prompts = pick_per_polarity(candidates, script_args.generation_prompts_per_polarity)
    return GenerationLogCallback(trainer, prompts, script_args.generation_steps, script_args.generation_max_new_tokens)


def _provenance(script_args: SPYTuneArguments, model_args: ModelConfig) -> dict[str, Any]:
    info: dict[str, Any] = {"base_model": model_args.model_name_or_path, "lora": model_args.use_peft}
    if pixel_kwargs(script_args):
        info["model_kwargs"] = pixel_kwargs(script_args)
    return info
