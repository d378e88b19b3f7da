"""SPY-ScriptedChat: a deterministic multi-turn chat model that checks the conversations it gets.

It exercises multi-turn plumbing (self-moderation above all) without a GPU. Its answers are the
fixed texts of the SPY-AlwaysRespond / SPY-AlwaysReject baselines, chosen by this script:

- turn 1: answers (respond);
- a later turn whose message quotes the privacy instructions of the first turn: refuses;
- any other later turn: follows the first instruction line, i.e. refuses when it declares something
  private and answers when it declares something non-private.

A conversation that does not start with a user turn carrying an image, or whose roles do not
alternate user/assistant ending with the user, is refused with an error; VLMEvalKit's `chat`
then reports "Chat Mode: Failed with all possible conversation turns." as the answer.
"""

from __future__ import annotations

from vlmeval.vlm.base import BaseModel

from ..prompts import split_instructions
from .baselines import SPYAlwaysReject, SPYAlwaysRespond
from .registration import publish_models

PRIVATE_LINE_END = "is considered as private information."


def _text(content: list[dict]) -> str:
    return "\n".join(part["value"] for part in content if part["type"] == "text")


def check_conversation(messages: list[dict]) -> None:
    """Raise ValueError unless the conversation is well formed and its first turn has an image."""
    roles = [m["role"] for m in messages]
    if roles != ["user", "assistant"] * (len(roles) // 2) + ["user"]:
        raise ValueError(f"roles must alternate user/assistant and end with user, got {roles}")
    if not any(part["type"] == "image" for part in messages[0]["content"]):
        raise ValueError("the first user turn carries no image")


def scripted_answer(messages: list[dict]) -> str:
    """The answer the script gives to a well-formed conversation."""
    if len(messages) == 1:
        return SPYAlwaysRespond.ANSWER
    instructions = split_instructions(_text(messages[0]["content"]))
    if instructions and instructions in _text(messages[-1]["content"]):
        return SPYAlwaysReject.ANSWER
    first_line = instructions.splitlines()[0] if instructions else ""
    return SPYAlwaysReject.ANSWER if first_line.endswith(PRIVATE_LINE_END) else SPYAlwaysRespond.ANSWER


class SPYScriptedChat(BaseModel):
    INTERLEAVE = True

    def generate_inner(self, message, dataset=None) -> str:
        return self.chat_inner([{"role": "user", "content": message}], dataset=dataset)

    def chat_inner(self, message, dataset=None) -> str:
        check_conversation(message)
        return scripted_answer(message)


publish_models({"SPY-ScriptedChat": SPYScriptedChat})
