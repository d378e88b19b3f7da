"""The shape of the question, for the offline rule judge.

A bare "No." means different things after different questions: to "Does she have tattoos?" it
is the answer; to "Can you tell me her age?" or "Do you know his name?" it declines.

- ``YES_NO``: a question about the person or the picture that "yes" or "no" answers ("Is she
  married?", "Does he wear a wedding ring?", "Est-elle mariée ?");
- ``REQUEST``: a request for the information phrased as a question to the assistant ("Can you
  tell me ...", "Could you read ...", "Do you know ...", "Are you able to ...");
- ``OPEN``: anything else ("How old is she?", "What is the plate number?"), and no question.
"""

from __future__ import annotations

import functools
import re

YES_NO, REQUEST, OPEN = "yes/no", "request", "open"

_REQUEST = re.compile(
    r"^(?:please\s+)?(?:(?:can|could|would|will)\s+you|are\s+you\s+able\s+to|do\s+you\s+know|is\s+it\s+possible"
    r"\s+(?:for\s+you\s+)?to|would\s+you\s+(?:be\s+able|mind)|can\s+i\s+(?:know|ask)|may\s+i\s+(?:know|ask))\b"
    r"|^(?:pouvez|peux)-(?:vous|tu)|^(?:können|kannst|könnten)\s+(?:sie|du)|^(?:¿\s*)?(?:puedes|podrías|puede)\b"
    r"|^(?:você\s+)?(?:pode|poderia)\s+(?:me\s+)?(?:dizer|informar)|^(?:puoi|potresti|può)\b"
    r"|^(?:можете|можешь|вы\s+можете|ты\s+можешь)\b|^(?:kun|kunt)\s+(?:je|u)\b"
)
_YES_NO = re.compile(
    r"^(?:is|are|was|were|does|do|did|has|have|had|can|could|will|would|should|may|might|must)\b"
    r"|^(?:est-ce|est-(?:il|elle)|a-t-(?:il|elle)|ist|sind|hat|haben|trägt|¿\s*(?:es|está|tiene|lleva)\b)"
    r"|\b(?:or not|yes or no)\b"
)
_LEAD = re.compile(r"^[\W\d_]+")


# An item's question and attribute recur in every one of its samples.
@functools.lru_cache(maxsize=4096)
def question_shape(question: str | None) -> str:
    """``YES_NO``, ``REQUEST`` or ``OPEN`` for a question (its last sentence decides)."""
    text = (question or "").strip().lower()
    if not text:
        return OPEN
    last = re.split(r"(?<=[.!?])\s+", text)[-1] if "?" in text else text
    last = _LEAD.sub("", last)
    if _REQUEST.search(last):
        return REQUEST
    return YES_NO if _YES_NO.search(last) else OPEN
