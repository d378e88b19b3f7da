"""`SPYDPOTrainer`: TRL's `DPOTrainer` with SPY-Tune batches (DPO with `sigmoid`, NCA with `nca_pair`).

What it adds, through TRL's extension points only (collator, forward hooks, `compute_loss`):
- `SPYPreferenceCollator`, which sends each image once (`share_image_features`) and the
  instruction polarity of every pair;
- the shared-image forward hook on the policy and on the reference model;
- the shared-prefix forward (`share_prompt_prefix`, `spy_align.prefix_sharing`): each example's
  prompt runs once for all its answers, in the policy and in the reference model;
- `rewards/non_private/*` and `rewards/private/*` next to TRL's own metrics.
The loss, the reference model (a frozen copy, or the PEFT base with adapters disabled), the
metrics and the distributed setup are TRL's.
"""

from __future__ import annotations

from typing import Any

import torch
from accelerate.utils import is_peft_model
from transformers import AutoProcessor, ProcessorMixin
from trl import DPOTrainer
from trl.trainer.utils import get_config_model_id

from .collator import SPYPreferenceCollator
from .columns import PAIRED_COLUMNS
from .configs import SPYDPOConfig
from .image_sharing import attach_shared_image_encoder
from .polarity_rewards import SequenceLogpsRecorder, polarity_reward_metrics
from .prefix_sharing import PrefixSharing


class SPYDPOTrainer(DPOTrainer):
    """Preference optimisation on SPY-Tune pairs; see the module docstring. `args` must be a `SPYDPOConfig`."""

    _tag_names = ["trl", "dpo", "spy-align"]

    def __init__(
        self,
        model: Any,
        ref_model: Any = None,
        args: SPYDPOConfig | None = None,
        data_collator: Any = None,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        processing_class: ProcessorMixin | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(args, SPYDPOConfig):
            raise TypeError(f"{type(self).__name__} needs a SPYDPOConfig (or subclass), got {type(args).__name__}")
        if processing_class is None:
            model_id = model if isinstance(model, str) else get_config_model_id(model.config)
            processing_class = AutoProcessor.from_pretrained(model_id, trust_remote_code=args.trust_remote_code)
        if data_collator is None:
            data_collator = SPYPreferenceCollator(
                processing_class,
                max_length=args.max_length,
                share_images=args.share_image_features,
                share_prefix=args.share_prompt_prefix,
            )
        super().__init__(
            model,
            ref_model=ref_model,
            args=args,
            data_collator=data_collator,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            processing_class=processing_class,
            **kwargs,
        )
        self._logps = SequenceLogpsRecorder()
        prefix_sharing = PrefixSharing()
        for module in self._forward_modules():
            inner = module.get_base_model() if is_peft_model(module) else module
            # Hook order matters: images are encoded before the prefix is packed, outputs unpacked before recording.
            if args.share_image_features:
                attach_shared_image_encoder(module, inner)
            if args.share_prompt_prefix:
                prefix_sharing.attach(module, inner)
            self._logps.attach(module)

    def _forward_modules(self) -> list[torch.nn.Module]:
        """The modules TRL calls: the policy (a PEFT model too) and the separate reference, if any."""
        modules = [self.model]
        if self.ref_model is not None:
            modules.append(self.accelerator.unwrap_model(self.ref_model))
        return modules

    def _set_signature_columns_if_needed(self) -> None:
        # Keep the columns our collator reads when unused columns are removed.
        if self._signature_columns is None:
            super()._set_signature_columns_if_needed()
            self._signature_columns = [*self._signature_columns, *PAIRED_COLUMNS, "polarity", "benchmark_id"]

    def compute_loss(
        self,
        model: torch.nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        polarity = inputs.pop("polarity", None)
        with self._logps.recording() as logps:
            result = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        # logps: policy forward, then reference forward (absent when reference log-probs come precomputed).
        if polarity is not None and len(logps) >= 2:
            self._log_polarity_rewards(polarity, logps[0], logps[1])
        return result

    def _log_polarity_rewards(self, polarity: torch.Tensor, policy: torch.Tensor, reference: torch.Tensor) -> None:
        mode = "train" if self.model.training else "eval"
        chosen, rejected = (self.beta * (policy - reference)).chunk(2)
        polarity, chosen, rejected = self.accelerator.gather((polarity.to(chosen.device), chosen, rejected))
        for key, value in polarity_reward_metrics(polarity, chosen, rejected).items():
            self._metrics[mode][key].append(value)
