"""Watch the model learn to answer and to refuse: generations logged every N steps.

`GenerationLogCallback` answers a few fixed evaluation prompts of each instruction polarity
(greedy) and logs them to stdout and, when the run reports to TensorBoard, as a markdown table
under the `generations` text tag. Every process generates (ZeRO-3 shards need all of them);
the main process logs.
"""

from __future__ import annotations

from typing import Any

import torch
from datasets import Dataset
from transformers import ProcessorMixin, Trainer, TrainerCallback
from transformers.integrations import TensorBoardCallback
from trl.data_utils import prepare_multimodal_messages
from trl.models import unwrap_model_for_generation

from .polarity_rewards import POLARITY_NAMES


def pick_per_polarity(dataset: Dataset, per_polarity: int) -> Dataset:
    """The first `per_polarity` plain-question rows of each polarity (same images under both, when possible)."""
    rows = {value: [] for value in POLARITY_NAMES}
    for index, (polarity, case) in enumerate(zip(dataset["polarity"], dataset["case"], strict=True)):
        if case == "plain" and len(rows[polarity]) < per_polarity:
            rows[polarity].append(index)
    return dataset.select(rows[0] + rows[1])


class GenerationLogCallback(TrainerCallback):
    """Every `every_steps` optimizer steps, generate answers to `prompts` and log them.

    `prompts` holds `images`, `prompt` (a user turn), `polarity`, `benchmark_id` and `chosen`
    (the target answer), as built by `spy_align.tune_datasets.preference_dataset`.
    """

    def __init__(self, trainer: Trainer, prompts: Dataset, every_steps: int, max_new_tokens: int = 48) -> None:
        if every_steps <= 0:
            raise ValueError(f"every_steps must be positive, got {every_steps}")
        self.trainer, self.prompts = trainer, prompts
        self.every_steps, self.max_new_tokens = every_steps, max_new_tokens

    def on_step_end(self, args, state, control, **kwargs) -> None:
        if state.global_step % self.every_steps:
            return
        answers = self.generate()
        if state.is_world_process_zero:
            self.log(state.global_step, answers)

    @torch.no_grad()
    def generate(self) -> list[str]:
        """Greedy answers to every prompt, in order."""
        trainer, processor = self.trainer, self.trainer.processing_class
        texts = [self._prompt_text(row, processor) for row in self.prompts]
        inputs = processor(
            text=texts,
            images=[row["images"] for row in self.prompts],
            padding=True,
            padding_side="left",
            return_tensors="pt",
            add_special_tokens=False,
        )
        # Unwrapping gathers ZeRO-3 shards and pauses gradient checkpointing for the duration.
        checkpointing = trainer.args.gradient_checkpointing_kwargs
        with unwrap_model_for_generation(
            trainer.model_wrapped, trainer.accelerator, gradient_checkpointing_kwargs=checkpointing
        ) as model:
            was_training = model.training
            model.eval()
            try:
                output = model.generate(**inputs.to(model.device), max_new_tokens=self.max_new_tokens, do_sample=False)
            finally:
                model.train(was_training)
        new_tokens = output[:, inputs["input_ids"].shape[1] :]
        return [text.strip() for text in processor.batch_decode(new_tokens, skip_special_tokens=True)]

    @staticmethod
    def _prompt_text(row: dict[str, Any], processor: ProcessorMixin) -> str:
        messages = prepare_multimodal_messages(row["prompt"], images=row["images"])
        return processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def log(self, step: int, answers: list[str]) -> None:
        """Print one block per prompt; add a markdown table to TensorBoard if the run has a writer."""
        shown = [_shown(row, answer) for row, answer in zip(self.prompts, answers, strict=True)]
        print(format_generations(step, shown), flush=True)
        writer = self._tensorboard_writer()
        if writer is not None:
            writer.add_text("generations", generations_table(shown), step)
            writer.flush()

    def _tensorboard_writer(self) -> Any:
        for callback in self.trainer.callback_handler.callbacks:
            if isinstance(callback, TensorBoardCallback) and callback.tb_writer is not None:
                return callback.tb_writer
        return None


Shown = tuple[str, str, str, str, str]
"""(polarity name, item id, question, target answer, model answer) of one logged prompt."""


def _shown(row: dict[str, Any], answer: str) -> Shown:
    question = row["prompt"][-1]["content"].rsplit("\n", 1)[-1]  # the question follows the instruction block
    return POLARITY_NAMES[row["polarity"]], row["benchmark_id"], question, row["chosen"][-1]["content"], answer


def format_generations(step: int, shown: list[Shown]) -> str:
    """The stdout block: one entry per prompt; continuation lines of multi-line texts stay under their label."""
    lines = [f"[spy-align] generations at step {step}"]
    for polarity, item, question, target, answer in shown:
        lines.append(f"  {polarity:<11} {item}: {_indent(question, 16 + len(item))}")
        lines += [f"    target: {_indent(target, 12)}", f"    answer: {_indent(answer, 12)}"]
    return "\n".join(lines)


def generations_table(shown: list[Shown]) -> str:
    """The TensorBoard markdown table; line breaks inside a cell become <br>."""
    table = ["| polarity | item | question | target | answer |", "|---|---|---|---|---|"]
    table += ["| " + " | ".join(_cell(text) for text in row) + " |" for row in shown]
    return "\n".join(table)


def _indent(text: str, width: int) -> str:
    return text.replace("\n", "\n" + " " * width)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\r", "").replace("\n", "<br>")
