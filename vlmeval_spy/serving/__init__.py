"""Answering with a Hugging Face checkpoint outside VLMEvalKit: loading, batched greedy generation, a batching server.

Torch and transformers are imported here, VLMEvalKit never: the server process starts in seconds
and the local model class (`harness.hf_model`) shares the same generation code, so both paths
give the same answers.
"""
