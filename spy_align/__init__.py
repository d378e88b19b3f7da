"""SPY-Tune: SFT, DPO, NCA and NCA-P alignment of vision-language models on TRL (docs/specification.md §7).

Importing the package is cheap: torch, transformers and TRL load only with the modules that
need them (`spy_align.preference_trainer`, `spy_align.collator`, ...).
"""
