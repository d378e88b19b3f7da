"""The shared-prefix forward (`spy_align.prefix_sharing`) gives the unshared forward's answer log-probabilities
(policy and reference), loss and gradients, on both tiny model families, in both mask formats, with LoRA and
gradient checkpointing."""

from __future__ import annotations

import pytest
import torch
from peft import LoraConfig

from spy_align.collator import SPYPreferenceCollator
from spy_align.configs import NCAPConfig, SPYDPOConfig
from spy_align.ncap_trainer import NCAPTrainer
from spy_align.preference_trainer import SPYDPOTrainer
from spy_align.prefix_sharing import PREFIX_GROUPS_KEY, build_tree, check_prefix_sharing, tree_mask
from spy_align.tune_datasets import load_tune_items, paired_dataset, preference_dataset

pytestmark = pytest.mark.usefixtures("grad_enabled")

TOLERANCE = 1e-5
# (family, method, attention, LoRA, gradient checkpointing): each model family, method and mask format once.
CASES = [
    ("qwen2_vl", "ncap", "sdpa", False, True),
    ("qwen2_vl", "dpo", "eager", True, False),
    ("qwen2_5_vl", "ncap", "eager", True, True),
    ("qwen2_5_vl", "dpo", "sdpa", False, False),
]


def test_tree_shares_common_prefixes_and_sees_only_ancestors():
    ids = torch.tensor([[1, 2, 3, 4, 5], [1, 2, 3, 6, 0], [1, 2, 7, 8, 0], [9, 2, 3, 0, 0]])
    lengths, groups = [5, 4, 4, 3], [0, 0, 0, 1]
    tree = build_tree(ids, lengths, groups)
    assert tree.row.tolist() == [0, 0, 0, 1]
    assert tree.index[:3].tolist() == [[0, 1, 2, 3, 4], [0, 1, 2, 5, -1], [0, 1, 6, 7, -1]]
    assert tree.width == 8
    allowed = tree_mask(tree, lengths, torch.device("cpu"))
    assert allowed[0, 5].nonzero().flatten().tolist() == [0, 1, 2, 5]  # token 6 of sequence 2: its own branch
    assert allowed[0, 7].nonzero().flatten().tolist() == [0, 1, 6, 7]
    assert allowed[1, 2].nonzero().flatten().tolist() == [0, 1, 2] and allowed[1, 5].nonzero().flatten().tolist() == [5]


def test_models_without_position_handling_or_tree_masks_name_the_switch(tune_workspace):
    from transformers import AutoModelForImageTextToText

    with pytest.raises(ValueError, match="share_prompt_prefix"):
        check_prefix_sharing(torch.nn.Linear(2, 2))
    model = AutoModelForImageTextToText.from_pretrained(tune_workspace.models["qwen2_vl"], attn_implementation="sdpa")
    model.config._attn_implementation_internal = "flash_attention_2"
    with pytest.raises(ValueError, match="share_prompt_prefix.*|attn_implementation sdpa"):
        check_prefix_sharing(model)


def lora_config() -> LoraConfig:
    # Random adapters (not the identity), so that the policy differs from the reference.
    return LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM", init_lora_weights=False
    )


def build(family, method, attention, lora, checkpointing, workspace, output_dir):
    items = load_tune_items(workspace.train_file, workspace.images_root, workspace.label2text_file)
    config_class, trainer_class = (NCAPConfig, NCAPTrainer) if method == "ncap" else (SPYDPOConfig, SPYDPOTrainer)
    if method == "ncap":
        dataset = paired_dataset(items, workspace.images_root)
        rows = [0, 4, 8]  # three items: images, prompts and answers of different lengths
    else:
        dataset = preference_dataset(items, workspace.images_root)
        rows = [0, 7, 11]
    args = config_class(
        output_dir=str(output_dir),
        beta=0.1,
        report_to="none",
        gradient_checkpointing=checkpointing,
        model_init_kwargs={"attn_implementation": attention},
    )
    torch.manual_seed(0)
    trainer = trainer_class(
        str(workspace.models[family]), args=args, train_dataset=dataset, peft_config=lora_config() if lora else None
    )
    assert (trainer.ref_model is None) == lora  # LoRA: the base model with adapters disabled is the reference
    if not lora:
        with torch.no_grad():  # move the policy away from the reference so that rewards are not all 0
            for parameter in trainer.model.parameters():
                parameter.add_(0.02 * torch.randn_like(parameter))
    trainer.model.train()
    examples = [dataset[r] for r in rows]
    batches = {
        share: SPYPreferenceCollator(trainer.processing_class, share_prefix=share)([dict(e) for e in examples])
        for share in (True, False)
    }
    return trainer, batches


def run(trainer, batch):
    """Loss, [policy, reference] answer log-probabilities per sequence, gradients, reference log-probs as
    `precompute_ref_log_probs` computes them."""
    trainer.model.zero_grad()
    loss = trainer.compute_loss(trainer.model, dict(batch))
    logps = list(trainer._logps.records)
    loss.backward()
    grads = {name: p.grad.detach().clone() for name, p in trainer.model.named_parameters() if p.grad is not None}
    precomputed = torch.cat(trainer.compute_ref_log_probs(trainer.model, dict(batch)))
    return loss.item(), logps, grads, precomputed


@pytest.mark.parametrize(("family", "method", "attention", "lora", "checkpointing"), CASES)
def test_shared_prefix_forward_equals_the_unshared_one(
    family, method, attention, lora, checkpointing, tune_workspace, tmp_path
):
    trainer, batches = build(family, method, attention, lora, checkpointing, tune_workspace, tmp_path)
    shared, unshared = run(trainer, batches[True]), run(trainer, batches[False])
    assert abs(shared[0] - unshared[0]) < TOLERANCE
    assert len(shared[1]) == len(unshared[1]) == 2  # policy, reference
    for ours, theirs in zip(shared[1], unshared[1], strict=True):
        assert (ours - theirs).abs().max() < TOLERANCE
    assert (shared[1][0] - shared[1][1]).abs().max() > 1e-3  # the policy is not the reference
    assert shared[2].keys() == unshared[2].keys() and shared[2]
    assert max((shared[2][name] - unshared[2][name]).abs().max().item() for name in shared[2]) < TOLERANCE
    assert (shared[3] - unshared[3]).abs().max() < TOLERANCE
    # Each example's sequences run as one tree: a row much shorter than its sequences one after the other.
    batch = batches[True]
    lengths = batch["attention_mask"].sum(dim=1)
    tree = build_tree(batch["input_ids"], lengths.tolist(), batch[PREFIX_GROUPS_KEY].tolist())
    one_after_the_other = torch.zeros(3, dtype=torch.long).index_add_(0, tree.row, lengths)
    packed = torch.stack([tree.index[tree.row == row].max() + 1 for row in range(3)])
    assert (packed < 0.65 * one_after_the_other).all()
