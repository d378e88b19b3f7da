"""The batching server's parts without a model: batch assembly, request parsing, endpoint errors; and its HTTP client.

Nothing hangs: a full queue, a client that leaves, a request that waits too long and a worker that
dies are each answered at once, over a real uvicorn in this process. The server with the tiny
Qwen2-VL, through `run.py`, is in `test_served_lifecycle.py`.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import io
import json
import socket
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
import uvicorn
from PIL import Image

from vlmeval_spy.models.serving import batched_server
from vlmeval_spy.models.serving.batched_server import (
    BadRequest,
    Batcher,
    Job,
    Limits,
    QueueFull,
    WorkerDied,
    build_app,
    chat_conversation,
    decoding_settings,
)
from vlmeval_spy.models.serving.http_client import KeepAliveClient, TransportError
from vlmeval_spy.models.serving.vlm_generation import Answer

GREEDY = decoding_settings({}, 8)


def png_url(color=(200, 20, 20)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), color).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


class WorkerCrash(BaseException):
    """What no `except Exception` catches: it ends the worker thread."""


@pytest.fixture
def release():
    """Set it to let batches holding "hold" or "crash" go on."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def batches(monkeypatch, release) -> list[list[str]]:
    """Every `answer_batch` call's texts; each conversation's answer is its own text.

    "boom" fails its batch, "hold" waits for `release`, "crash" waits for it then kills the worker, "spin"
    generates until nobody waits for any answer of its batch (`wanted`), as `generate` stops then.
    """
    seen: list[list[str]] = []

    def answer(processor, model, conversations, images, generation, wanted=None):
        texts = [c[-1]["content"][0]["text"] for c in conversations]
        while "spin" in texts and any(wanted()):
            time.sleep(0.01)
        if "boom" in texts:
            raise RuntimeError("out of memory")
        if "hold" in texts or "crash" in texts:
            release.wait(10)
        if "crash" in texts:
            raise WorkerCrash("CUDA error: an illegal memory access")
        seen.append(texts)
        return [Answer(f"{t}|{generation['max_new_tokens']}", 3, True) for t in texts]

    monkeypatch.setattr(batched_server, "answer_batch", answer)
    return seen


def ask(batcher: Batcher, text: str, settings=GREEDY) -> Future:
    return batcher.submit([{"role": "user", "content": [{"type": "text", "text": text}]}], [], settings)


def test_requests_arriving_together_share_batches_up_to_the_limit(batches):
    batcher = Batcher(None, None, max_batch_size=4, gap_s=0.2, max_wait_s=2.0)
    futures = [ask(batcher, str(i)) for i in range(6)]
    assert [f.result(10).text for f in futures] == [f"{i}|8" for i in range(6)]
    assert batches == [["0", "1", "2", "3"], ["4", "5"]]


def test_requests_with_other_decoding_settings_wait_for_their_own_batch(batches):
    batcher = Batcher(None, None, max_batch_size=8, gap_s=0.2, max_wait_s=2.0)
    longer = decoding_settings({"max_tokens": 32}, 8)
    futures = [ask(batcher, "a"), ask(batcher, "b", longer), ask(batcher, "c"), ask(batcher, "d", longer)]
    assert [f.result(10).text for f in futures] == ["a|8", "b|32", "c|8", "d|32"]
    assert batches == [["a", "c"], ["b", "d"]]


def test_a_batch_starts_once_requests_stop_coming(batches):
    batcher = Batcher(None, None, max_batch_size=16, gap_s=0.05, max_wait_s=5.0)
    first = ask(batcher, "early")
    first.result(10)
    time.sleep(0.2)
    late = ask(batcher, "late")
    assert late.result(10).text == "late|8" and batches == [["early"], ["late"]]


def test_a_failed_batch_fails_its_requests_and_the_next_batch_runs(batches):
    batcher = Batcher(None, None, max_batch_size=2, gap_s=0.2, max_wait_s=2.0)
    failed = [ask(batcher, "boom"), ask(batcher, "x")]
    for future in failed:
        with pytest.raises(RuntimeError, match="out of memory"):
            future.result(10)
    assert ask(batcher, "after").result(10).text == "after|8"


def test_a_full_queue_refuses_and_frees_its_places_as_requests_are_answered(batches, release):
    batcher = Batcher(None, None, max_batch_size=1, gap_s=0.01, max_wait_s=0.05, max_queue=2)
    held = [ask(batcher, "hold"), ask(batcher, "next")]
    with pytest.raises(QueueFull, match="2 requests are waiting or generating"):
        ask(batcher, "refused")
    release.set()
    assert [f.result(10).text for f in held] == ["hold|8", "next|8"]
    assert ask(batcher, "after").result(10).text == "after|8"


def test_a_cancelled_request_is_dropped_from_its_batch(batches, release):
    batcher = Batcher(None, None, max_batch_size=8, gap_s=0.05, max_wait_s=1.0)
    running = ask(batcher, "hold")
    time.sleep(0.2)  # its batch has started
    waiting = [ask(batcher, text) for text in "abc"]
    assert waiting[1].cancel() and not running.cancel()
    release.set()
    assert running.result(10).text == "hold|8" and waiting[2].result(10).text == "c|8"
    assert batches == [["hold"], ["a", "c"]]


def test_a_dead_worker_fails_every_waiting_request_at_once_and_every_later_one(batches, release):
    batcher = Batcher(None, None, max_batch_size=1, gap_s=0.01, max_wait_s=0.05)
    futures = [ask(batcher, text) for text in ("crash", "a", "b")]
    release.set()
    for future in futures:
        with pytest.raises(WorkerDied, match="WorkerCrash: CUDA error: an illegal memory access"):
            future.result(5)
    with pytest.raises(WorkerDied, match="worker stopped"):
        ask(batcher, "later")


def test_decoding_is_greedy_unless_a_temperature_asks_for_sampling():
    assert dict(decoding_settings({}, 512)) == {"max_new_tokens": 512, "do_sample": False}
    assert dict(decoding_settings({"max_tokens": 64, "temperature": 0}, 512)) == {
        "max_new_tokens": 64,
        "do_sample": False,
    }
    sampled = dict(decoding_settings({"max_completion_tokens": 9, "temperature": 0.7, "top_p": 0.9}, 512))
    assert sampled == {"max_new_tokens": 9, "do_sample": True, "temperature": 0.7, "top_p": 0.9}
    with pytest.raises(BadRequest, match="max_tokens must be a positive integer"):
        decoding_settings({"max_tokens": "many"}, 512)


def test_messages_become_the_chat_template_conversation_with_images_in_order():
    conversation, images = chat_conversation(
        [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": png_url((1, 2, 3))}},
                    {"type": "text", "text": "What is shown?"},
                    {"type": "image_url", "image_url": {"url": png_url((4, 5, 6))}},
                ],
            },
        ]
    )
    assert conversation == [
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
        {
            "role": "user",
            "content": [{"type": "image"}, {"type": "text", "text": "What is shown?"}, {"type": "image"}],
        },
    ]
    assert [image.getpixel((0, 0)) for image in images] == [(1, 2, 3), (4, 5, 6)]


@pytest.mark.parametrize(
    "messages,message",
    [
        ([], "messages must be a non-empty list"),
        ([{"content": "hi"}], r"messages\[0\] needs a role"),
        ([{"role": "user", "content": [{"type": "input_audio"}]}], r"messages\[0\]\.content\[0\]: this server takes"),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/a.png"}}]}],
            r"messages\[0\]\.content\[0\]: images must be base64 data URLs",
        ),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}],
            r"messages\[0\]\.content\[0\]: the image cannot be read",
        ),
    ],
)
def test_bad_messages_are_refused_naming_the_part(messages, message):
    with pytest.raises(BadRequest, match=message):
        chat_conversation(messages)


class InstantBatcher:
    """Answers at once with the request's last text, upper-cased."""

    failure = None

    def busy_for(self) -> float:
        return 0.0

    def submit(self, conversation, images, settings, timeout_s=None) -> Future:
        future = Job(timeout_s)
        future.set_result(Answer(conversation[-1]["content"][-1]["text"].upper(), 2, len(images) == 0))
        return future


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def words(conversation, images) -> int:
    """A stand-in tokenizer: one token per word, one per image."""
    return sum(len(part.get("text", "x").split()) for message in conversation for part in message["content"])


@contextlib.contextmanager
def serving(batcher, request_timeout_s: float = 60.0, **limits):
    """The app around `batcher` on a uvicorn in this process; yields its port."""
    port = free_port()
    app = build_app(batcher, ["tiny", "/ckpt/tiny"], 8, Limits(request_timeout_s=request_timeout_s, **limits), words)
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def app_url():
    with serving(InstantBatcher()) as port:
        yield f"http://127.0.0.1:{port}/v1"


def chat(port: int, text: str, method: str = "POST", path: str = "/v1/chat/completions") -> tuple[int, dict, dict]:
    """`(status, headers, JSON body)` of one request on a connection of its own."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = {"model": "tiny", "messages": [{"role": "user", "content": text}]}
    try:
        connection.request(method, path, json.dumps(body) if method == "POST" else None)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


def wait_until(condition, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_full_queue_is_answered_503_with_retry_after(batches, release):
    batcher = Batcher(None, None, max_batch_size=1, gap_s=0.01, max_wait_s=0.05, max_queue=2)
    with serving(batcher) as port, ThreadPoolExecutor(2) as pool:
        held = [pool.submit(chat, port, "hold")]
        wait_until(lambda: len(batcher.unanswered) == 1)  # "hold" first: "next" must queue behind it
        held.append(pool.submit(chat, port, "next"))
        wait_until(lambda: len(batcher.unanswered) == 2)
        status, headers, reply = chat(port, "refused")
        assert status == 503 and headers["retry-after"] == "1" and "--max-queue" in reply["detail"]
        release.set()
        assert [f.result(10)[0] for f in held] == [200, 200]


def test_a_client_that_disconnects_is_dropped_from_its_batch(batches, release):
    batcher = Batcher(None, None, max_batch_size=8, gap_s=0.05, max_wait_s=1.0)
    with serving(batcher) as port, ThreadPoolExecutor(3) as pool:
        running = pool.submit(chat, port, "hold")
        wait_until(lambda: len(batcher.unanswered) == 1)
        time.sleep(0.2)  # its batch has started
        kept = [pool.submit(chat, port, text) for text in ("a", "c")]
        body = json.dumps({"model": "tiny", "messages": [{"role": "user", "content": "gone"}]}).encode()
        head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)
        with socket.create_connection(("127.0.0.1", port)) as gone:
            gone.sendall(head + body)
            wait_until(lambda: len(batcher.unanswered) == 4)
        wait_until(lambda: len(batcher.unanswered) == 3)  # closed: its future was cancelled
        release.set()
        assert running.result(10)[0] == 200
        assert [f.result(10)[2]["choices"][0]["message"]["content"] for f in kept] == ["a|8", "c|8"]
    # "a" and "c" are sent from two threads, so either may reach the queue first
    assert batches[0] == ["hold"] and sorted(batches[1]) == ["a", "c"] and len(batches) == 2


def test_a_request_not_answered_in_time_gets_504_and_is_never_generated(batches, release):
    batcher = Batcher(None, None, max_batch_size=1, gap_s=0.01, max_wait_s=0.05)
    with serving(batcher, request_timeout_s=0.5) as port, ThreadPoolExecutor(1) as pool:
        running = pool.submit(chat, port, "hold")
        wait_until(lambda: len(batcher.unanswered) == 1)
        status, _, reply = chat(port, "late")
        assert status == 504 and "not answered within" in reply["detail"]
        assert running.result(10)[0] == 504
        release.set()
        wait_until(lambda: batches == [["hold"]])
        assert chat(port, "after")[0] == 200
    assert batches == [["hold"], ["after"]]


def test_a_dead_worker_fails_waiting_and_later_requests_with_503_and_health_says_so(batches, release):
    batcher = Batcher(None, None, max_batch_size=1, gap_s=0.01, max_wait_s=0.05)
    with serving(batcher) as port, ThreadPoolExecutor(3) as pool:
        assert chat(port, "", "GET", "/health")[0] == 200
        waiting = [pool.submit(chat, port, "crash")]
        wait_until(lambda: len(batcher.unanswered) == 1)  # "crash" first: the others wait behind it
        waiting += [pool.submit(chat, port, text) for text in ("a", "b")]
        wait_until(lambda: len(batcher.unanswered) == 3)
        start = time.monotonic()
        release.set()
        for status, _, reply in (f.result(10) for f in waiting):
            assert status == 503 and "WorkerCrash: CUDA error" in reply["detail"]
        assert time.monotonic() - start < 3
        status, _, reply = chat(port, "later")
        assert status == 503 and "worker stopped" in reply["detail"]
        status, _, health = chat(port, "", "GET", "/health")
        assert status == 503 and health["status"] == "unhealthy" and "WorkerCrash" in health["detail"]


def test_a_request_that_times_out_stops_generating_and_later_ones_are_answered(batches):
    """A request that would generate for ever (a huge prompt, a model that never stops) ends at its deadline in
    the worker too: 504 for it, and the next request is answered at once, without anyone releasing anything."""
    batcher = Batcher(None, None, max_batch_size=1, gap_s=0.01, max_wait_s=0.05)
    with serving(batcher, request_timeout_s=0.5) as port:
        status, _, reply = chat(port, "spin")
        assert status == 504 and "not answered within" in reply["detail"]
        assert chat(port, "after")[0] == 200
        assert chat(port, "", "GET", "/health")[0] == 200
    assert batches == [["spin"], ["after"]]


def test_health_reports_a_worker_stuck_past_the_request_timeout(batches, release):
    batcher = Batcher(None, None, max_batch_size=1, gap_s=0.01, max_wait_s=0.05)
    with serving(batcher, request_timeout_s=0.3) as port, ThreadPoolExecutor(1) as pool:
        held = pool.submit(chat, port, "hold")  # ignores `wanted`: one step that never ends
        wait_until(lambda: batcher.busy_for() > 0.3)
        status, _, health = chat(port, "", "GET", "/health")
        assert status == 503 and health["status"] == "unhealthy" and "the worker is stuck" in health["detail"]
        assert "--request-timeout 0.3" in health["detail"]
        assert held.result(10)[0] == 504
        release.set()
        wait_until(lambda: batcher.busy_for() == 0.0)
        assert chat(port, "", "GET", "/health")[0] == 200


def raw_exchange(port: int, head: bytes, body: bytes) -> tuple[int, dict]:
    """Send `head` and `body` (an incomplete body is fine) on a raw socket; the status and JSON of the reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, json.loads(response.read())


def test_a_body_over_the_limit_is_answered_413_before_it_is_read(batches):
    batcher = Batcher(None, None, max_batch_size=1, gap_s=0.01, max_wait_s=0.05)
    with serving(batcher, max_body_bytes=1000) as port:
        # 60 MB announced, 100 bytes sent: the answer comes at once, from the header alone.
        head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 60000000\r\n\r\n"
        status, reply = raw_exchange(port, head, b"{" + b" " * 99)
        assert status == 413 and "60000000 bytes, more than the 1000 allowed (--max-body-mb" in reply["detail"]
        # Chunked, without a length: refused once more than the limit has arrived.
        chunk = b"x" * 600
        head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        status, reply = raw_exchange(port, head, (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 2)
        assert status == 413 and "1200 bytes" in reply["detail"]
        assert chat(port, "small")[0] == 200
    assert batches == [["small"]]


def test_a_prompt_over_the_limit_is_answered_400_and_never_queued(batches):
    batcher = Batcher(None, None, max_batch_size=1, gap_s=0.01, max_wait_s=0.05)
    with serving(batcher, max_prompt_tokens=5) as port:
        status, _, reply = chat(port, "one two three four five six")
        assert (
            status == 400
            and "the prompt has 6 tokens, more than the 5 allowed (--max-prompt-tokens)" in reply["detail"]
        )
        assert chat(port, "one two three four five")[0] == 200
    assert batches == [["one two three four five"]]


def post(url: str, body) -> tuple[int, dict]:
    status, data = KeepAliveClient(url, 10).request(
        "POST", "/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    return status, json.loads(data)


def test_the_endpoint_answers_in_openai_shape(app_url: str):
    status, reply = post(app_url, {"model": "tiny", "messages": [{"role": "user", "content": "hello"}]})
    assert status == 200
    assert reply["object"] == "chat.completion" and reply["model"] == "tiny"
    assert reply["choices"][0]["message"] == {"role": "assistant", "content": "HELLO"}
    assert reply["choices"][0]["finish_reason"] == "stop" and reply["usage"] == {"completion_tokens": 2}
    image_then_text = [{"type": "image_url", "image_url": {"url": png_url()}}, {"type": "text", "text": "two"}]
    status, reply = post(app_url, {"model": "/ckpt/tiny", "messages": [{"role": "user", "content": image_then_text}]})
    assert status == 200 and reply["choices"][0]["message"]["content"] == "TWO"
    assert reply["choices"][0]["finish_reason"] == "length"  # InstantBatcher's answers with images ran out
    status, models = KeepAliveClient(app_url, 10).request("GET", "/models")
    assert status == 200 and [m["id"] for m in json.loads(models)["data"]] == ["tiny"]


@pytest.mark.parametrize(
    "body,status,message",
    [
        ({"model": "other", "messages": [{"role": "user", "content": "hi"}]}, 404, "'other' does not exist"),
        ({"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "stream": True}, 400, "not streamed"),
        ({"model": "tiny", "messages": [{"role": "user", "content": [{"type": "video"}]}]}, 400, "content[0]"),
        ([1, 2], 400, "must be a JSON object"),
    ],
)
def test_the_endpoint_refuses_what_it_cannot_answer(app_url: str, body, status: int, message: str):
    got, reply = post(app_url, body)
    assert got == status and message in reply["detail"]


def test_the_client_sends_again_on_a_new_connection_when_the_server_closed_the_old_one():
    """A keep-alive connection the server closed after its answer (without saying so) is replaced."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    connections = []

    def serve() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            connections.append(conn)
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    client = KeepAliveClient(f"http://127.0.0.1:{listener.getsockname()[1]}/v1", 10)
    assert client.request("POST", "/chat/completions", b"{}") == (200, b"ok")
    time.sleep(0.1)
    assert client.request("POST", "/chat/completions", b"{}") == (200, b"ok")
    assert len(connections) == 2
    listener.close()


def test_the_client_reports_no_answer_as_a_transport_error(tmp_path: Path):
    with pytest.raises(TransportError, match="ConnectionRefusedError"):
        KeepAliveClient(f"http://127.0.0.1:{free_port()}/v1", 5).request("GET", "/models")
    with pytest.raises(ValueError, match="not an http"):
        KeepAliveClient("localhost:8000", 5)
    assert KeepAliveClient("https://api.example.org/v1", 5).connection_class.__name__ == "HTTPSConnection"
