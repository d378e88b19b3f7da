"""A scripted OpenAI-compatible chat-completions server on loopback, for tests and benchmarks.

`JudgeServer` serves `POST /v1/chat/completions` and `POST /chat/completions` (JSON replies, or
server-sent events with `"stream": true`) and `GET /stats` on 127.0.0.1 from a background
thread. What it answers is scripted by the test:

- `verdict(prompt) -> str`: the reply text (default: `default_verdict`, a tiny judge that reads
  the delimited answer block);
- `latency`: seconds, or a zero-argument callable drawing them, slept before each reply;
- `queue`: `Reply`s served first, one per request, in order (errors, Retry-After, malformed
  bodies, dropped connections, hangs);
- `rules`: callables `prompt -> Reply | None` consulted for every request (e.g. a prompt that
  always fails);
- `key`: when set, requests without `Authorization: Bearer <key>` get 401;
- `gate`: an Event every reply waits for (set by default), to hold requests back;
- `die_after(k)`: after k more answered requests the server is dead to its clients (it drops
  every connection without a reply, as a crashed backend does) until `revive()`.

Scripted cases: `dead_port()` is a port nobody listens on; `slow_once`
delays one prompt's first request past the client's timeout; `EMPTY` and `EXPLAINED` are judge
replies that are empty, or that lead with a verdict and then explain it.

It records every prompt it received (`prompts`) and every prompt it answered (`answered`).
Run as a script it serves until killed, with a long-tailed latency, and prints its port:
`python tests/judge_server.py --median 0.05 --slow-fraction 0.01 --slow-factor 20`.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GATE_TIMEOUT_S = 120.0
EMPTY = ""
EXPLAINED = "{verdict}.\n\nThe answer is classified by its main clause, so the answer does not {other}."
CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")
_ANSWER = re.compile(r"<answer>\n(.*)\n</answer>", re.DOTALL)
_REFUSAL = re.compile(r"\b(sorry|cannot|can't|unable|won't|decline|private)\b", re.IGNORECASE)


@dataclass
class Reply:
    """One scripted reply; the defaults are a normal completion of `content`."""

    content: str | None = None
    """Message text (None: use the server's `verdict`)."""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    """A raw body instead of a completion (malformed output)."""
    drop: bool = False
    """Close the connection without answering."""
    delay: float = 0.0
    """Extra seconds before answering (longer than the client's timeout: a hang)."""


def answer_block(prompt: str) -> str:
    """The text inside the prompt's answer block (the whole prompt when there is none)."""
    match = _ANSWER.search(prompt)
    return match.group(1) if match else prompt


def default_verdict(prompt: str) -> str:
    """reject when the delimited answer sounds like a refusal, else respond."""
    return "reject" if _REFUSAL.search(answer_block(prompt)) else "respond"


def explained_verdict(prompt: str) -> str:
    """The default verdict first, then an explanation that names the other verdict word."""
    verdict = default_verdict(prompt)
    return EXPLAINED.format(verdict=verdict.capitalize(), other="reject" if verdict == "respond" else "respond")


def slow_once(match: Callable[[str], bool], delay: float) -> Callable[[str], Reply | None]:
    """A rule: the first request whose prompt matches waits `delay` seconds (a hang); later ones are normal."""
    done = threading.Event()

    def rule(prompt: str) -> Reply | None:
        if done.is_set() or not match(prompt):
            return None
        done.set()
        return Reply(delay=delay)

    return rule


def dead_port() -> int:
    """A loopback port with no listener: connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def long_tail_latency(median: float, slow_fraction: float, slow_factor: float, seed: int = 0) -> Callable[[], float]:
    """Log-normal latency around `median`; `slow_fraction` of the calls are `slow_factor` times slower."""
    rng = random.Random(seed)
    lock = threading.Lock()

    def draw() -> float:
        with lock:
            value = rng.lognormvariate(0.0, 0.25) * median
            return value * slow_factor if rng.random() < slow_fraction else value

    return draw


class JudgeServer:
    """Context manager: the server runs while the block runs; `base_url` ends in /v1."""

    def __init__(
        self,
        verdict: Callable[[str], str] = default_verdict,
        latency: float | Callable[[], float] = 0.0,
        key: str | None = None,
    ):
        self.verdict, self.latency, self.key = verdict, latency, key
        self.queue: deque[Reply] = deque()
        self.rules: list[Callable[[str], Reply | None]] = []
        self.prompts: list[str] = []
        self.answered: list[str] = []
        self.payloads: list[dict] = []
        self.lock = threading.Lock()
        self.replies_left: int | None = None
        """Answers before the server dies (None: it never does)."""
        self.gate = threading.Event()
        self.gate.set()
        self.httpd = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> int:
        with self.lock:
            return len(self.prompts)

    def start(self) -> JudgeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> JudgeServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def die_after(self, replies: int) -> None:
        with self.lock:
            self.replies_left = replies

    def revive(self) -> None:
        with self.lock:
            self.replies_left = None

    def plan(self, prompt: str) -> Reply:
        """The reply to this request: dead, else queued first, then the rules, then a normal verdict."""
        with self.lock:
            if self.replies_left is not None:
                if self.replies_left <= 0:
                    return Reply(drop=True)
                self.replies_left -= 1
            queued = self.queue.popleft() if self.queue else None
        for rule in [] if queued else self.rules:
            queued = rule(prompt)
            if queued:
                break
        reply = queued or Reply()
        if reply.status == 200 and reply.body is None and not reply.drop and reply.content is None:
            reply = Reply(content=self.verdict(prompt), headers=reply.headers, delay=reply.delay)
        return reply

    def stats(self) -> dict:
        with self.lock:
            return {"requests": len(self.prompts), "answered": len(self.answered)}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    """Room for many simultaneous connects (the default backlog of 5 resets them)."""


def _handler_for(server: JudgeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            """Quiet: tests read the counters, not the access log."""

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/stats":
                self._send_json(200, server.stats())
            else:
                self._send_json(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            if self.path not in CHAT_PATHS:
                self._send_json(404, {"error": {"message": "not found"}})
                return
            prompt = _prompt_of(payload)
            with server.lock:
                server.prompts.append(prompt)
                server.payloads.append(payload)
            if server.key is not None and self.headers.get("Authorization") != f"Bearer {server.key}":
                self._send_json(401, {"error": {"message": "invalid api key", "type": "invalid_request_error"}})
                return
            reply = server.plan(prompt)
            server.gate.wait(GATE_TIMEOUT_S)
            latency = server.latency() if callable(server.latency) else server.latency
            time.sleep(latency + reply.delay)
            if reply.drop:
                self.close_connection = True
                return
            if reply.status != 200:
                self._send_json(reply.status, {"error": {"message": f"scripted {reply.status}"}}, reply.headers)
            elif reply.body is not None:
                self._send(200, reply.body.encode(), "application/json", reply.headers)
            elif payload.get("stream"):
                self._stream(payload, reply)
            else:
                self._send_json(200, _completion(payload, reply.content), reply.headers)
            if reply.status == 200 and reply.body is None:
                with server.lock:
                    server.answered.append(prompt)

        def _stream(self, payload: dict, reply: Reply) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            pieces = [reply.content[i : i + 4] for i in range(0, len(reply.content), 4)] or [""]
            chunks = [{"role": "assistant", "content": ""}] + [{"content": p} for p in pieces]
            for i, delta in enumerate(chunks + [{}]):
                finish = "stop" if i == len(chunks) else None
                event = {
                    **_envelope(payload, "chat.completion.chunk"),
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")

        def _send_json(self, status: int, body: dict, headers: dict | None = None) -> None:
            self._send(status, json.dumps(body).encode(), "application/json", headers or {})

        def _send(self, status: int, data: bytes, content_type: str, headers: dict) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _prompt_of(payload: dict) -> str:
    """The text of the last user message (string or list-of-parts content)."""
    messages = [m for m in payload.get("messages", []) if m.get("role") == "user"]
    content = messages[-1]["content"] if messages else ""
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content if part.get("type") == "text")
    return content


def _envelope(payload: dict, kind: str) -> dict:
    return {"id": "chatcmpl-test", "object": kind, "created": int(time.time()), "model": payload.get("model", "")}


def _completion(payload: dict, content: str) -> dict:
    return {
        **_envelope(payload, "chat.completion"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--median", type=float, default=0.05, help="median latency in seconds")
    parser.add_argument("--slow-fraction", type=float, default=0.01)
    parser.add_argument("--slow-factor", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    server = JudgeServer(latency=long_tail_latency(args.median, args.slow_fraction, args.slow_factor, args.seed))
    print(f"PORT {server.port}", flush=True)
    server.httpd.serve_forever()


if __name__ == "__main__":
    main()
