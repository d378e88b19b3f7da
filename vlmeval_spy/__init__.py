"""SPY-Bench for VLMEvalKit, one folder per stage of the pipeline (docs/architecture.md).

- `common/`: atomic file writes, data errors, the exit-status contract.
- `bench/`: the release's files, sample expansion, prompts, the built TSVs, SPY-Bench-Mini.
- `models/`: the model registry and names, and serving checkpoints outside VLMEvalKit.
- `judge/`: the rule judge, the LLM judge's prompt and cache, what every judge shares.
- `results/`: records, metrics, intervals, reports, plots, the leaderboard, exports.
- `harness/`: the adapters that import VLMEvalKit (datasets, models, judging, run status).

A stage imports only from itself and from the stages listed before it; only `harness/` imports
VLMEvalKit; only `models/serving/` and `harness/` import torch; nothing imports `spy_align`
(tests/test_layout.py checks all four). `cli.py` (the `spy-bench` command) and `import_hook.py`
(run by the `.pth` file at interpreter start) sit on top.
"""

__version__ = "0.1.0"
