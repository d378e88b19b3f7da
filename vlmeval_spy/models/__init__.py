"""Which model answers: the registry of checkpoints (`spy-bench models`), the built-in names, and
`serving/`, which answers with a checkpoint outside VLMEvalKit (generation, servers and their
supervisor, the HTTP client). The VLMEvalKit model classes that use them live in `harness/`."""
