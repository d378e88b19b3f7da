"""Each method trains on the tiny models (loss goes the right way); LoRA's reference is the base model."""

from __future__ import annotations

import math

import pytest
import torch
from peft import LoraConfig
from trl import SFTTrainer

from align_workspace import FAMILIES
from spy_align.configs import NCAPConfig, SPYDPOConfig, SPYNCAConfig, SPYSFTConfig
from spy_align.ncap_trainer import NCAPTrainer
from spy_align.preference_trainer import SPYDPOTrainer
from spy_align.tune_datasets import load_tune_items, paired_dataset, preference_dataset, sft_dataset

pytestmark = pytest.mark.usefixtures("grad_enabled")

METHODS = {
    "sft": (SPYSFTConfig, SFTTrainer, sft_dataset, {}),
    "dpo": (SPYDPOConfig, SPYDPOTrainer, preference_dataset, {"beta": 0.1}),
    "nca": (SPYNCAConfig, SPYDPOTrainer, preference_dataset, {"beta": 0.1}),
    "ncap": (NCAPConfig, NCAPTrainer, paired_dataset, {"beta": 0.1}),
}
# Rows whose targets agree (answer: plain non-private, and a legitimate-need scenario), so that a few steps on
# a random model show the loss falling; telling the polarities apart takes longer than a test.
ROWS = {"sft": [1, 2], "dpo": [1, 2], "nca": [1, 2], "ncap": [1]}
# Loss at step 0, when the policy still is the reference: DPO log 2, NCA 2 log 2 per pair, NCA-P two pairs.
START_LOSS = {"dpo": math.log(2), "nca": 2 * math.log(2), "ncap": 4 * math.log(2)}


def train(method: str, family: str, workspace, output_dir, steps: int = 5, **overrides):
    config_class, trainer_class, build, extra = METHODS[method]
    items = load_tune_items(workspace.train_file, workspace.images_root, workspace.label2text_file)
    dataset = build(items[:1], workspace.images_root, distractors=False).select(ROWS[method])  # one batch, again
    args = config_class(
        output_dir=str(output_dir),
        max_steps=steps,
        per_device_train_batch_size=2,
        learning_rate=2e-3,
        lr_scheduler_type="constant",
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        gradient_checkpointing=False,
        **extra,
    )
    trainer = trainer_class(model=str(workspace.models[family]), args=args, train_dataset=dataset, **overrides)
    trainer.train()
    return trainer, [log for log in trainer.state.log_history if "loss" in log]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("method", list(METHODS))
def test_each_method_learns_its_targets(method, family, tune_workspace, tmp_path):
    _, logs = train(method, family, tune_workspace, tmp_path)
    assert logs[-1]["loss"] < logs[0]["loss"]
    if method != "sft":
        assert logs[0]["loss"] == pytest.approx(START_LOSS[method], abs=1e-4)
        assert logs[-1]["rewards/margins"] > 0
        assert {"rewards/private/margins", "rewards/non_private/margins"} & logs[-1].keys()


@pytest.mark.parametrize("method", ["dpo", "ncap"])
def test_lora_trains_against_the_base_model_with_adapters_disabled(method, tune_workspace, tmp_path):
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    trainer, logs = train(method, "qwen2_vl", tune_workspace, tmp_path, peft_config=lora)
    assert trainer.ref_model is None  # no second model: TRL disables the adapters for the reference
    trainable = [name for name, p in trainer.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in name for name in trainable)
    # LoRA starts as the identity, so the first loss is the one of policy == reference.
    assert logs[0]["loss"] == pytest.approx(START_LOSS[method], abs=1e-4)
    assert logs[-1]["loss"] < logs[0]["loss"] and logs[-1]["rewards/margins"] > 0


@pytest.mark.parametrize("completion_only", [True, False])
def test_sft_loss_on_the_answer_by_default_on_every_token_as_the_original_on_request(
    completion_only, tune_workspace, tmp_path
):
    items = load_tune_items(tune_workspace.train_file, tune_workspace.images_root, tune_workspace.label2text_file)
    dataset = sft_dataset(items[:1], tune_workspace.images_root, distractors=False).select([0, 1])
    args = SPYSFTConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=2,
        report_to="none",
        completion_only_loss=None if completion_only else False,
    )
    trainer = SFTTrainer(model=str(tune_workspace.models["qwen2_vl"]), args=args, train_dataset=dataset)
    batch = next(iter(trainer.get_train_dataloader()))
    trained = batch["labels"] != -100
    tokenizer = trainer.processing_class.tokenizer
    if completion_only:  # the answer and one end of turn (the original added a second end token)
        texts = [tokenizer.decode(batch["input_ids"][r][trained[r]]) for r in range(len(dataset))]
        assert texts == [row["completion"][0]["content"] + "<|im_end|>\n" for row in dataset]
    else:  # the original's loss: prompt (instructions, image tokens, question) and answer
        assert torch.equal(trained, batch["attention_mask"].bool())
