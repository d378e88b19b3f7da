"""SPY-ScriptedChat, a test-only model: a deterministic multi-turn chat that checks the conversations it gets.

It exercises multi-turn plumbing (self-moderation above all) without a GPU. It lives in tests/
and is registered only in test processes: in-process by `register()`, and in `python -m
vlmeval.run` subprocesses started with `subprocess_env()`, whose PYTHONPATH holds
`tests/plugins/sitecustomize.py`. Its answers are the fixed texts of the SPY-AlwaysRespond /
SPY-AlwaysReject baselines, chosen by this script:

- turn 1: answers (respond);
- a later turn whose message quotes the privacy instructions of the first turn: refuses;
- any other later turn: follows the first instruction line, i.e. refuses when it declares something
  private and answers when it declares something non-private.

A conversation that does not start with a user turn carrying an image, or whose roles do not
alternate user/assistant ending with the user, is refused with an error. With `FAIL_TURN_ENV` set to a
turn number, that turn raises in every conversation, and a conversation without its image is
answered like a real model would, to test what a failed turn does.
"""

from __future__ import annotations

import os
from pathlib import Path

from vlmeval.vlm.base import BaseModel

from vlmeval_spy.bench.prompts import split_instructions
from vlmeval_spy.harness.baselines import SPYAlwaysReject, SPYAlwaysRespond
from vlmeval_spy.harness.registration import publish_models
from vlmeval_spy.harness.self_moderation import publish_self_moderation

PRIVATE_LINE_END = "is considered as private information."
FAIL_TURN_ENV = "SPY_SCRIPTED_FAIL_TURN"
PLUGINS = Path(__file__).resolve().parent / "plugins"


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
        fail_turn = os.environ.get(FAIL_TURN_ENV)
        if fail_turn and not any(part["type"] == "image" for part in message[0]["content"]):
            # What VLMEvalKit's `BaseModel.chat` retries with after an error (the first turn dropped):
            # a real model answers it; so does this one, so that judging such an answer would show.
            return SPYAlwaysRespond.ANSWER
        check_conversation(message)
        if fail_turn == str((len(message) + 1) // 2):
            raise RuntimeError(f"scripted failure of turn {fail_turn}")
        return scripted_answer(message)


def register() -> None:
    """Register SPY-ScriptedChat and its `SelfMod-` name in this process."""
    publish_models({"SPY-ScriptedChat": SPYScriptedChat})
    publish_self_moderation()


def subprocess_env(env: dict[str, str]) -> dict[str, str]:
    """`env` for a subprocess in which SPY-ScriptedChat is registered (through `plugins/sitecustomize.py`)."""
    paths = [str(PLUGINS), str(PLUGINS.parent), env.get("PYTHONPATH", "")]
    return {**env, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
