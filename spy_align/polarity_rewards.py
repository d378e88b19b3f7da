"""Rewards per instruction polarity: does the model learn to answer (0) *and* to refuse (1)?

TRL logs rewards averaged over the batch, which hides one polarity improving while the other
degrades. The sequence log-probabilities TRL's loss uses are read off the model outputs by a
forward hook (TRL's fused LM head returns them as `log_probs`), so nothing is recomputed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch.utils.hooks import RemovableHandle

POLARITY_NAMES = {0: "non_private", 1: "private"}


class SequenceLogpsRecorder:
    """Collects, per forward call and in call order, each sequence's summed answer log-probability."""

    def __init__(self) -> None:
        self.records: list[torch.Tensor] = []
        self.active = False

    def attach(self, module: torch.nn.Module) -> RemovableHandle:
        return module.register_forward_hook(self._hook, with_kwargs=True)

    def _hook(self, _module: torch.nn.Module, _args: tuple, kwargs: dict[str, Any], output: Any) -> None:
        log_probs = getattr(output, "log_probs", None)
        if not self.active or log_probs is None:
            return
        # Like TRL: per-token log-probs of the last (length - 1) positions (prompt-tuning prepends some), masked to 0
        # outside the answers, summed per sequence.
        self.records.append(log_probs[:, -(kwargs["input_ids"].size(1) - 1) :].detach().sum(dim=1))

    @contextmanager
    def recording(self) -> Iterator[list[torch.Tensor]]:
        """Record the forwards run inside the block; yields the list that fills up."""
        self.records, self.active = [], True
        try:
            yield self.records
        finally:
            self.active = False


def polarity_reward_metrics(
    polarity: torch.Tensor, chosen_rewards: torch.Tensor, rejected_rewards: torch.Tensor
) -> dict[str, float]:
    """`rewards/{non_private,private}/{chosen,rejected,margins,accuracies}` over the pairs of each polarity."""
    metrics = {}
    for value, name in POLARITY_NAMES.items():
        mask = polarity == value
        if not mask.any():
            continue
        chosen, rejected = chosen_rewards[mask], rejected_rewards[mask]
        metrics[f"rewards/{name}/chosen"] = chosen.mean().item()
        metrics[f"rewards/{name}/rejected"] = rejected.mean().item()
        metrics[f"rewards/{name}/margins"] = (chosen - rejected).mean().item()
        metrics[f"rewards/{name}/accuracies"] = (chosen > rejected).float().mean().item()
    return metrics
