"""NCA-P through TRL equals docs/specification.md §7's formula computed directly (`spy_align.ncap_reference`:
plain forwards, every image copy encoded, full logits), in loss and in gradients."""

from __future__ import annotations

import pytest
import torch

from align_workspace import FAMILIES
from spy_align.collator import SPYPreferenceCollator
from spy_align.configs import NCAPConfig
from spy_align.ncap_reference import spec_ncap_loss
from spy_align.ncap_trainer import NCAPTrainer
from spy_align.tune_datasets import load_tune_items, paired_dataset

pytestmark = pytest.mark.usefixtures("grad_enabled")

BETA = 0.1
TOLERANCE = 1e-5


@pytest.fixture(scope="module", params=FAMILIES)
def setup(request, tune_workspace, tmp_path_factory):
    torch.manual_seed(0)
    ws = tune_workspace
    dataset = paired_dataset(load_tune_items(ws.train_file, ws.images_root, ws.label2text_file), ws.images_root)
    args = NCAPConfig(
        output_dir=str(tmp_path_factory.mktemp("ncap")),
        beta=BETA,
        report_to="none",
        gradient_checkpointing=False,
        per_device_train_batch_size=2,
    )
    trainer = NCAPTrainer(str(ws.models[request.param]), args=args, train_dataset=dataset)
    with torch.no_grad():  # move the policy away from the reference so that rewards are not all 0
        for parameter in trainer.model.parameters():
            parameter.add_(0.02 * torch.randn_like(parameter))
    trainer.model.train()
    examples = [dataset[0], dataset[4], dataset[8]]  # plain / non-privacy / privacy scenario; an ABS item
    collate = lambda share: SPYPreferenceCollator(trainer.processing_class, share_images=share, share_prefix=share)(  # noqa: E731
        [dict(e) for e in examples]
    )
    return trainer, collate(True), collate(False)


def loss_and_grads(trainer: NCAPTrainer, compute) -> tuple[float, dict[str, torch.Tensor]]:
    trainer.model.zero_grad()
    loss = compute()
    loss.backward()
    grads = {name: p.grad.detach().clone() for name, p in trainer.model.named_parameters() if p.grad is not None}
    return loss.item(), grads


def max_grad_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max((a[name] - b[name]).abs().max().item() for name in a)


def test_batch_rows_are_ordered_example_then_polarity(setup):
    _, shared, _ = setup
    assert shared["polarity"].tolist() == [0, 1, 0, 1, 0, 1]
    assert shared["shared_images"]["index"].tolist() == [0, 0, 1, 1, 2, 2] * 2


def test_ncap_loss_and_gradients_equal_the_spec_formula(setup):
    trainer, shared, unshared = setup
    trl_loss, trl_grads = loss_and_grads(trainer, lambda: trainer.compute_loss(trainer.model, dict(shared)))
    spec = lambda: spec_ncap_loss(trainer.model, trainer.ref_model, unshared, BETA)  # noqa: E731
    spec_loss, spec_grads = loss_and_grads(trainer, spec)
    assert abs(trl_loss - spec_loss) < TOLERANCE
    assert spec_loss != pytest.approx(4 * torch.log(torch.tensor(2.0)).item())  # rewards are not all zero
    assert max_grad_difference(trl_grads, spec_grads) < TOLERANCE
    vision = [name for name in trl_grads if "visual" in name]
    assert vision and all(trl_grads[name].abs().sum() > 0 for name in vision[:3])


def test_shared_image_features_give_the_unshared_loss_and_gradients(setup):
    trainer, shared, unshared = setup
    shared_loss, shared_grads = loss_and_grads(trainer, lambda: trainer.compute_loss(trainer.model, dict(shared)))
    plain_loss, plain_grads = loss_and_grads(trainer, lambda: trainer.compute_loss(trainer.model, dict(unshared)))
    assert abs(shared_loss - plain_loss) < TOLERANCE
    assert max_grad_difference(shared_grads, plain_grads) < TOLERANCE


def test_polarity_rewards_are_logged_next_to_trl_metrics(setup):
    trainer, shared, _ = setup
    trainer._metrics["train"].clear()
    with torch.no_grad():
        trainer.compute_loss(trainer.model, dict(shared))
    metrics = trainer._metrics["train"]
    assert {"rewards/chosen", "rewards/margins", "logps/chosen"} <= metrics.keys()
    for polarity in ("non_private", "private"):
        assert {f"rewards/{polarity}/{k}" for k in ("chosen", "rejected", "margins", "accuracies")} <= metrics.keys()
    both = (metrics["rewards/non_private/chosen"][0] + metrics["rewards/private/chosen"][0]) / 2
    assert both == pytest.approx(metrics["rewards/chosen"][0], abs=1e-6)
