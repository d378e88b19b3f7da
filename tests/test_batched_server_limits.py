"""The batching server bounds its inputs, as its own process with the tiny Qwen2-VL (issue 28): a prompt
longer than the model's context is answered 400 and a body over `--max-body-mb` 413, at once, and the
server goes on answering normal requests; its defaults come from the model's context."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from spy_align.tiny_models import build_tiny_vlm
from test_batched_server import free_port, png_url, raw_exchange
from vlmeval_spy.models.serving.http_client import KeepAliveClient
from vlmeval_spy.models.serving.vlm_generation import answer_batch, context_length, load_vlm, prompt_tokens

pytestmark = pytest.mark.timeout(300)
CONTEXT = 4096
"""The tiny model's `max_position_embeddings`."""


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return build_tiny_vlm(tmp_path_factory.mktemp("tiny"), "qwen2_vl")


@pytest.fixture(scope="module")
def server(checkpoint: Path, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "vlmeval_spy.models.serving.batched_server", str(checkpoint), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while not healthy(port):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        yield port, str(checkpoint)
    finally:
        process.terminate()
        process.wait(30)


def healthy(port: int) -> bool:
    try:
        return KeepAliveClient(f"http://127.0.0.1:{port}", 5).request("GET", "/health")[0] == 200
    except Exception:  # not listening yet
        return False


def post(port: int, body: dict) -> tuple[int, dict]:
    status, data = KeepAliveClient(f"http://127.0.0.1:{port}/v1", 60).request(
        "POST", "/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    return status, json.loads(data)


def test_a_huge_prompt_is_refused_and_normal_requests_go_on(server):
    port, model = server
    huge = {"model": model, "messages": [{"role": "user", "content": "word " * 200_000}]}  # 1 MB of text
    status, reply = post(port, huge)
    assert status == 400 and "--max-prompt-tokens" in reply["detail"], reply
    # the default: the context less the checkpoint's answer length
    allowed = int(re.search(r"more than (?:the )?(\d+)", reply["detail"]).group(1))
    assert 0 < allowed < CONTEXT
    words = (allowed // 2) * 3  # few enough characters to be counted, too many tokens
    status, reply = post(port, {"model": model, "messages": [{"role": "user", "content": "a b " * words}]})
    assert status == 400 and f"tokens, more than the {allowed} allowed (--max-prompt-tokens)" in reply["detail"]
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 60000000\r\n\r\n"
    status, reply = raw_exchange(port, head, b"{")
    assert status == 413 and "--max-body-mb 32" in reply["detail"]
    content = [{"type": "image_url", "image_url": {"url": png_url()}}, {"type": "text", "text": "What is shown?"}]
    status, reply = post(port, {"model": model, "messages": [{"role": "user", "content": content}], "max_tokens": 4})
    assert status == 200 and reply["choices"][0]["message"]["role"] == "assistant"
    assert healthy(port)


def test_prompt_tokens_count_the_image_and_generation_stops_for_unwanted_answers(checkpoint: Path):
    processor, model = load_vlm(str(checkpoint), device_map="cpu")
    assert context_length(model) == CONTEXT
    text = [{"role": "user", "content": [{"type": "text", "text": "Who is this?"}]}]
    with_image = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Who is this?"}]}]
    image = Image.new("RGB", (112, 112), (1, 2, 3))
    assert prompt_tokens(processor, with_image, [image]) > prompt_tokens(processor, text, []) > 0
    settings = {"max_new_tokens": 50, "min_new_tokens": 50, "do_sample": False}
    calls = []

    def wanted() -> list[bool]:
        calls.append(1)
        return [len(calls) < 3, True] if len(calls) < 5 else [False, False]

    first, second = answer_batch(processor, model, [text, text], [[], []], settings, wanted=wanted)
    # the first answer stopped after 2 new tokens, the batch after 5: 45 tokens early
    assert len(calls) == 5 and not second.stopped and second.tokens == 5
