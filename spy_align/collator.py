"""Collate vision preference data (DPO / NCA pairs, NCA-P polarity pairs) with each image sent once.

The batch layout is TRL's (`DataCollatorForVisionPreference`): all chosen sequences, then all
rejected ones in the same order, with `completion_mask` marking the answer tokens. A *unit* is
one (prompt, chosen, rejected) triple; an NCA-P example holds two units, its non-private pair
then its private pair, so their NCA losses sit side by side and TRL's `nca_pair` loss sums to
NCA-P. With `share_images`, pixels go once per image under `shared_images` (see
`spy_align.image_sharing`); without, every sequence carries its own copy, as in stock TRL.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import torch
from transformers import ProcessorMixin
from transformers.data.data_collator import DataCollatorMixin
from trl.data_utils import apply_chat_template, is_conversational, prepare_multimodal_messages
from trl.trainer.utils import pad

from .columns import PAIR_SUFFIXES, PREFERENCE_KEYS
from .image_sharing import SHARED_IMAGES_KEY
from .prefix_sharing import PREFIX_GROUPS_KEY

TEXT_KEYS = ("input_ids", "attention_mask", "mm_token_type_ids", "token_type_ids")
# Per-token keys that continue into the answer with zeros (answers are plain text).
TOKEN_TYPE_KEYS = ("mm_token_type_ids", "token_type_ids")


@dataclass(frozen=True)
class Unit:
    """One preference triple of a batch, rendered to text."""

    example: int
    slot: int
    """0 for an unpaired example; the polarity's position for a pair."""
    polarity: int
    """Instruction polarity when the data says it (0 / 1), else -1."""
    prompt: str
    chosen: str
    rejected: str


@dataclass
class SPYPreferenceCollator(DataCollatorMixin):
    """Batches preference examples (`prompt`/`chosen`/`rejected`) or polarity pairs (`..._0`, `..._1`).

    Output: `input_ids`, `attention_mask`, `completion_mask` and the processor's token-type keys
    for 2 x units rows; `polarity` (one per unit) when known; the image inputs, either shared
    (`shared_images` + per-row copies of small per-image keys such as `image_grid_thw`) or per row.
    """

    processor: ProcessorMixin
    max_length: int | None = None
    share_images: bool = True
    share_prefix: bool = False
    """Name every row's example (`PREFIX_GROUPS_KEY`) for the shared-prefix forward (`spy_align.prefix_sharing`)."""
    return_tensors: str = "pt"

    def torch_call(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        images = [_images_of(example) for example in examples]
        units = [unit for i, example in enumerate(examples) for unit in _units(i, example, images[i], self.processor)]
        if self.share_images:
            prompts, image_inputs = self._shared_prompts(units, images)
        else:
            prompts, image_inputs = self._encode([u.prompt for u in units] * 2, [images[u.example] for u in units] * 2)
        output = self._sequences(units, prompts, examples)
        if image_inputs:
            output.update(self._image_outputs(units, images, image_inputs))
        if all(u.polarity >= 0 for u in units):
            output["polarity"] = torch.tensor([u.polarity for u in units])
        if self.share_prefix:
            output[PREFIX_GROUPS_KEY] = torch.tensor([u.example for u in units] * 2)
        return output

    def _shared_prompts(self, units: list[Unit], images: list[list]) -> tuple[list[dict], dict[str, torch.Tensor]]:
        """Tokenize prompts slot by slot; keep the image inputs of the first slot only."""
        prompts: list[dict] = [{} for _ in units]
        image_inputs: dict[str, torch.Tensor] = {}
        for slot in sorted({u.slot for u in units}):
            members = [k for k, u in enumerate(units) if u.slot == slot]
            rows, inputs = self._encode([units[k].prompt for k in members], [images[units[k].example] for k in members])
            for k, row in zip(members, rows, strict=True):
                prompts[k] = row
            image_inputs = image_inputs or inputs
        return prompts, image_inputs

    def _encode(self, texts: list[str], images: list[list]) -> tuple[list[dict], dict[str, torch.Tensor]]:
        """Run the processor; return unpadded per-row token lists and the image inputs."""
        has_images = any(images)
        processed = self.processor(
            text=texts,
            images=images if has_images else None,
            padding=True,
            padding_side="right",
            return_tensors="pt",
            add_special_tokens=False,
        )
        lengths = processed["attention_mask"].sum(dim=1).tolist()
        rows = [
            {key: processed[key][r, :n].tolist() for key in TEXT_KEYS if key in processed}
            for r, n in enumerate(lengths)
        ]
        return rows, {key: value for key, value in processed.items() if key not in TEXT_KEYS}

    def _sequences(self, units: list[Unit], prompts: list[dict], examples: list[dict]) -> dict[str, torch.Tensor]:
        """Prompt + answer rows: chosen for every unit, then rejected; truncated and right-padded."""
        tokenizer = self.processor.tokenizer
        texts = [u.chosen for u in units] + [u.rejected for u in units]
        answers = tokenizer(texts, add_special_tokens=False)["input_ids"]
        columns: dict[str, list[torch.Tensor]] = {}
        for row, answer in enumerate(answers):
            k = row % len(units)
            prompt = prompts[k]
            self._check_fits(len(prompt["input_ids"]), examples[units[k].example])
            sequence = {
                "input_ids": prompt["input_ids"] + answer,
                "attention_mask": [1] * (len(prompt["input_ids"]) + len(answer)),
                "completion_mask": [0] * len(prompt["input_ids"]) + [1] * len(answer),
                **{key: prompt[key] + [0] * len(answer) for key in TOKEN_TYPE_KEYS if key in prompt},
            }
            for key, values in sequence.items():
                columns.setdefault(key, []).append(torch.tensor(values[: self.max_length], dtype=torch.long))
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        return {
            key: pad(values, padding_value=pad_id if key == "input_ids" else 0, padding_side="right")
            for key, values in columns.items()
        }

    def _check_fits(self, prompt_length: int, example: dict[str, Any]) -> None:
        # A truncated prompt would lose image tokens (or the whole answer): say so instead.
        if self.max_length is not None and prompt_length >= self.max_length:
            name = example.get("benchmark_id", "?")
            raise ValueError(
                f"item {name}: the prompt is {prompt_length} tokens (image tokens included), max_length is "
                f"{self.max_length}; raise max_length or lower the image processor's max_pixels"
            )

    def _image_outputs(self, units: list[Unit], images: list[list], image_inputs: dict[str, torch.Tensor]) -> dict:
        if not self.share_images:
            return image_inputs
        # Images are numbered example after example; every row lists its example's images (rows: chosen, rejected).
        starts = [0, *accumulate(len(example_images) for example_images in images)]
        unit_images = [i for u in units for i in range(starts[u.example], starts[u.example + 1])]
        index = torch.tensor(unit_images * 2)
        n_images = starts[-1]
        # Small per-image keys (`image_grid_thw`) are also needed per sequence, e.g. for Qwen's 3D positions.
        per_row = {
            key: value[index]
            for key, value in image_inputs.items()
            if key != "pixel_values" and isinstance(value, torch.Tensor) and value.dim() > 0 and len(value) == n_images
        }
        return {SHARED_IMAGES_KEY: {**image_inputs, "index": index}, **per_row}


def _images_of(example: dict[str, Any]) -> list:
    if "image" in example:
        return [example["image"]]
    return list(example.get("images") or [])


def _units(i: int, example: dict[str, Any], images: list, processor: ProcessorMixin) -> list[Unit]:
    """The preference triples of one example, rendered with the chat template."""
    paired = f"prompt{PAIR_SUFFIXES[0]}" in example
    suffixes = PAIR_SUFFIXES if paired else ("",)
    units = []
    for slot, suffix in enumerate(suffixes):
        triple = {key: example[f"{key}{suffix}"] for key in PREFERENCE_KEYS}
        if is_conversational(triple):
            triple = apply_chat_template(
                {
                    "prompt": prepare_multimodal_messages(triple["prompt"], images=images),
                    "chosen": prepare_multimodal_messages(triple["chosen"]),
                    "rejected": prepare_multimodal_messages(triple["rejected"]),
                },
                processor,
            )
        polarity = slot if paired else int(example.get("polarity", -1))
        units.append(Unit(i, slot, polarity, triple["prompt"], triple["chosen"], triple["rejected"]))
    return units
