"""`NCAPTrainer`: NCA-P (docs/specification.md §7) as a thin `SPYDPOTrainer`.

NCA-P's loss for an example is NCA on its non-private pair plus NCA on its private pair. The
collator lays each example's two pairs side by side as ordinary preference pairs, TRL's
`nca_pair` loss gives one NCA value per pair and averages them, and `NCAPConfig` weights that
average by 2: the mean over examples of NCA(pair 0) + NCA(pair 1). The per-polarity rewards
of `SPYDPOTrainer` split the metrics by pair.
"""

from __future__ import annotations

from typing import Any

from .columns import PAIRED_COLUMNS
from .configs import NCAPConfig
from .preference_trainer import SPYDPOTrainer


class NCAPTrainer(SPYDPOTrainer):
    """Train on polarity-paired examples (`spy_align.tune_datasets.paired_dataset`) with the NCA-P loss."""

    _tag_names = ["trl", "spy-align", "nca-p"]
    _name = "NCA-P"

    def __init__(
        self,
        model: Any,
        ref_model: Any = None,
        args: NCAPConfig | None = None,
        data_collator: Any = None,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(args, NCAPConfig):
            raise TypeError(f"NCAPTrainer needs an NCAPConfig, got {type(args).__name__}")
        evals = eval_dataset.values() if isinstance(eval_dataset, dict) else [eval_dataset]
        for dataset in [train_dataset, *evals]:
            missing = [c for c in PAIRED_COLUMNS if dataset is not None and c not in dataset.column_names]
            if missing:
                raise ValueError(f"NCAPTrainer: a dataset lacks the polarity-pair columns {missing}")
        super().__init__(model, ref_model, args, data_collator, train_dataset, eval_dataset, **kwargs)
