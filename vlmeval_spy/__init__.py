"""SPY-Bench for VLMEvalKit.

The core (release loading, sample expansion, prompts, metrics) imports neither VLMEvalKit nor
torch; `vlmeval_spy.harness` holds the VLMEvalKit adapters.
"""

__version__ = "0.1.0"
