"""NCA-P's loss written out from docs/specification.md §7, independent of TRL: the check for `NCAPTrainer`.

Plain model forwards (every sequence with its own image copy, full logits, no fused head, no
shared features), then, with r = beta (log pi(y|x) - log pi_ref(y|x)) summed over answer tokens,

    loss = mean over examples of  sum over polarities p of
           -log s(r_chosen,p) - 0.5 log s(-r_chosen,p) - 0.5 log s(-r_rejected,p).

Slow and memory-hungry by design; used by the tests and `scripts/bench_align.py`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

NOT_MODEL_INPUTS = ("completion_mask", "polarity")


def answer_logps(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Summed log-probability of each row's answer tokens (`completion_mask`), from the full logits."""
    inputs = {key: value for key, value in batch.items() if key not in NOT_MODEL_INPUTS}
    logits = model(**inputs).logits[:, :-1].float()
    per_token = F.log_softmax(logits, dim=-1).gather(-1, batch["input_ids"][:, 1:, None]).squeeze(-1)
    return (per_token * batch["completion_mask"][:, 1:]).sum(dim=1)


def spec_ncap_loss(
    policy: torch.nn.Module, reference: torch.nn.Module, batch: dict[str, torch.Tensor], beta: float
) -> torch.Tensor:
    """NCA-P loss of an unshared `SPYPreferenceCollator` batch of polarity pairs (units: example, polarity)."""
    policy_logps = answer_logps(policy, batch)
    with torch.no_grad():
        reference_logps = answer_logps(reference, batch)
    chosen, rejected = (beta * (policy_logps - reference_logps)).chunk(2)
    nca = -F.logsigmoid(chosen) - 0.5 * F.logsigmoid(-chosen) - 0.5 * F.logsigmoid(-rejected)
    return nca.view(-1, 2).sum(dim=1).mean()
