"""The benchmark's data: the release's files read and checked, samples expanded, prompts rendered
and written as VLMEvalKit TSVs, the dataset catalog, and the bundled SPY-Bench-Mini
(docs/specification.md §1-§3). Imports neither VLMEvalKit nor torch."""
