"""Adapters between the SPY-Bench core and VLMEvalKit (imported only when VLMEvalKit is)."""
