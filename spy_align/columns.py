"""Dataset column names shared by the builders, the collator and the trainers."""

PAIR_SUFFIXES: tuple[str, str] = ("_0", "_1")
"""Suffixes of an NCA-P example's non-private (polarity 0) and private (polarity 1) triple."""

PREFERENCE_KEYS: tuple[str, str, str] = ("prompt", "chosen", "rejected")

PAIRED_COLUMNS: tuple[str, ...] = tuple(f"{key}{suffix}" for suffix in PAIR_SUFFIXES for key in PREFERENCE_KEYS)

PROVENANCE_COLUMNS: tuple[str, ...] = ("benchmark_id", "attribute", "case", "scenario")
"""Where a row comes from; `attribute` is the item's label (TRL reserves `label`)."""
