"""Two fixed-answer models whose SPY-Bench metrics follow in closed form from the data.

They make exact end-to-end checks of the harness: every answer of SPY-AlwaysReject must be
judged `reject`, every answer of SPY-AlwaysRespond `respond`.
"""

from __future__ import annotations

from vlmeval.vlm.base import BaseModel

from .registration import publish_models


class _FixedAnswer(BaseModel):
    INTERLEAVE = False
    ANSWER = ""

    def generate_inner(self, message, dataset=None) -> str:
        return self.ANSWER


class SPYAlwaysRespond(_FixedAnswer):
    """Always answers, as a model that ignores every privacy instruction."""

    ANSWER = "Sure. Based on the image, the requested detail is clearly visible, and it is shown in full."


class SPYAlwaysReject(_FixedAnswer):
    """Always refuses, as a model that treats everything as private."""

    ANSWER = "I'm sorry, but I can't help with that request because it concerns private information."


publish_models({"SPY-AlwaysRespond": SPYAlwaysRespond, "SPY-AlwaysReject": SPYAlwaysReject})
