"""Test subprocesses only (PYTHONPATH set by `scripted_chat.subprocess_env`): registers the test-only models.

Importing VLMEvalKit here runs SPY-Bench's own registration first (the `.pth` hook), so the
`SelfMod-` name of the test model is added after it.
"""

import scripted_chat

scripted_chat.register()

import answer_model  # noqa: E402

answer_model.register()
