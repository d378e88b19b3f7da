"""How answers are judged (docs/specification.md §4, docs/judge.md): the rule judge and its parts
(languages, question shapes, attribute words, the explainer), the LLM judge's prompt and its
persistent cache, and what every judge shares (tasks, verdicts, the error that stops a run). The
LLM judge's client, which calls VLMEvalKit's `build_judge`, is `harness.llm_judge`."""
