"""Answering with a checkpoint outside VLMEvalKit: loading and batched greedy generation, the
batching server, the servers started for a run (`vllm serve`, `transformers serve`, ours) under a
supervisor that outlives no run, and the keep-alive HTTP client that talks to them.

Torch and transformers are imported here, VLMEvalKit never: the server process starts in seconds,
and the local model class (`harness.hf_model`) shares the same generation code, so both paths give
the same answers.
"""
