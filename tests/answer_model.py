"""SPY-Test-Answers: a test-only VLMEvalKit model whose answers are `release_generator.answer_for(prompt)`.

Its answers are odd on purpose (`None`, `=5 feet tall`, CRLF, U+2028, ...), so that a run shows
whether they reach the judge and the metrics exactly as written. Registered in test subprocesses
by `plugins/sitecustomize.py`.
"""

from __future__ import annotations

from vlmeval.vlm.base import BaseModel

from release_generator import answer_for
from vlmeval_spy.harness.registration import publish_models


class SPYTestAnswers(BaseModel):
    INTERLEAVE = True

    def generate_inner(self, message: list[dict], dataset: str | None = None) -> str:
        prompt = "\n".join(part["value"] for part in message if part["type"] == "text")
        return answer_for(prompt)


def register() -> None:
    publish_models({"SPY-Test-Answers": SPYTestAnswers})
