"""The preference collator: TRL's batch layout, each image sent once, same model outputs as stock TRL."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForImageTextToText, AutoProcessor
from trl.trainer.dpo_trainer import DataCollatorForVisionPreference

from align_workspace import FAMILIES
from spy_align.collator import SPYPreferenceCollator
from spy_align.image_sharing import attach_shared_image_encoder
from spy_align.tune_datasets import load_tune_items, paired_dataset, preference_dataset

MODEL_INPUTS = ("input_ids", "attention_mask", "mm_token_type_ids", "image_grid_thw", "pixel_values", "shared_images")


@pytest.fixture(scope="module")
def data(tune_workspace):
    ws = tune_workspace
    items = load_tune_items(ws.train_file, ws.images_root, ws.label2text_file)
    return preference_dataset(items, ws.images_root), paired_dataset(items, ws.images_root)


@pytest.fixture(scope="module", params=FAMILIES)
def model_and_processor(request, tune_workspace):
    path = tune_workspace.models[request.param]
    model = AutoModelForImageTextToText.from_pretrained(path).eval()
    attach_shared_image_encoder(model, model)
    return model, AutoProcessor.from_pretrained(path)


def rows(dataset, indices):
    return [dict(dataset[i]) for i in indices]


def logits(model, batch):
    with torch.no_grad():
        return model(**{key: batch[key] for key in MODEL_INPUTS if key in batch}).logits


def test_unshared_batches_are_stock_trl_batches(data, model_and_processor):
    model, processor = model_and_processor
    examples = rows(data[0], [0, 5, 11])
    stock = DataCollatorForVisionPreference(processor)([dict(e) for e in examples])
    ours = SPYPreferenceCollator(processor, share_images=False)([dict(e) for e in examples])
    mask = stock["attention_mask"].bool()
    for key in ("attention_mask", "completion_mask", "mm_token_type_ids", "pixel_values", "image_grid_thw"):
        assert torch.equal(stock[key], ours[key]), key
    assert torch.equal(stock["input_ids"][mask], ours["input_ids"][mask])  # padding ids may differ
    assert ours["polarity"].tolist() == [1, 1, 0]
    assert torch.equal(logits(model, stock)[mask], logits(model, ours)[mask])


def test_shared_batches_send_each_image_once_and_give_the_same_logits(data, model_and_processor):
    model, processor = model_and_processor
    for dataset, indices, copies in ((data[0], [0, 5, 11], 2), (data[1], [0, 3, 6], 4)):
        examples = rows(dataset, indices)
        shared = SPYPreferenceCollator(processor)([dict(e) for e in examples])
        plain = SPYPreferenceCollator(processor, share_images=False)([dict(e) for e in examples])
        assert "pixel_values" not in shared
        assert len(shared["shared_images"]["pixel_values"]) * copies == len(plain["pixel_values"])
        assert torch.equal(shared["image_grid_thw"], plain["image_grid_thw"])
        for key in ("input_ids", "attention_mask", "completion_mask", "mm_token_type_ids"):
            assert torch.equal(shared[key], plain[key]), key
        mask = plain["attention_mask"].bool()
        assert (logits(model, shared) - logits(model, plain))[mask].abs().max() < 1e-5


def test_pairs_become_two_units_chosen_rows_first(data, model_and_processor):
    _, processor = model_and_processor
    examples = rows(data[1], [0, 3])
    batch = SPYPreferenceCollator(processor)([dict(e) for e in examples])
    tokenizer = processor.tokenizer
    answers = [batch["input_ids"][r][batch["completion_mask"][r].bool()] for r in range(8)]
    order = [
        (0, "chosen_0"),
        (0, "chosen_1"),
        (1, "chosen_0"),
        (1, "chosen_1"),
        (0, "rejected_0"),
        (0, "rejected_1"),
        (1, "rejected_0"),
        (1, "rejected_1"),
    ]
    for answer, (example, key) in zip(answers, order, strict=True):
        assert tokenizer.decode(answer).startswith(examples[example][key][0]["content"])
    assert batch["polarity"].tolist() == [0, 1, 0, 1]
    assert batch["shared_images"]["index"].tolist() == [0, 0, 1, 1, 0, 0, 1, 1]


def test_too_short_max_length_names_the_item(data, model_and_processor):
    _, processor = model_and_processor
    with pytest.raises(ValueError, match=r"item t1: the prompt is \d+ tokens .* max_length is 16"):
        SPYPreferenceCollator(processor, max_length=16)(rows(data[0], [0]))
