"""The batching server against oversized requests (issue 28): how fast they are refused, whether normal
requests go on, and the server's peak memory.

Starts `batched_server` on the tiny offline Qwen2-VL (`spy_align.tiny_models`) with `--request-timeout 20`,
then sends: a chat body with `--text-mb` of text (refused 400 by `--max-prompt-tokens`), a body announcing
60 MB (refused 413 by `--max-body-mb`, from its header), `--normal` ordinary requests with an image, and
`/health`. Figures: each status and its seconds, and the server's resident memory before and its peak
(`VmHWM`) after.

    .venv/bin/python scripts/bench_server_limits.py [--text-mb 1 --normal 4]

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from spy_align.tiny_models import build_tiny_vlm
from vlmeval_spy.models.serving.http_client import KeepAliveClient


def memory_mb(pid: int, field: str) -> float:
    """A `/proc/PID/status` memory field (VmRSS, VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed(call) -> tuple[int, float]:
    start = time.perf_counter()
    status = call()
    return status, round(time.perf_counter() - start, 3)


def chat(port: int, model: str, content) -> int:
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": content}], "max_tokens": 8})
    client = KeepAliveClient(f"http://127.0.0.1:{port}/v1", 120)
    return client.request("POST", "/chat/completions", body.encode(), {"Content-Type": "application/json"})[0]


def announced_60mb(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 60000000\r\n\r\n{")
        return int(sock.recv(64).split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text-mb", type=float, default=1.0)
    parser.add_argument("--normal", type=int, default=4)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="spy-limits-"))
    model = str(build_tiny_vlm(folder / "tiny", "qwen2_vl"))
    port = free_port()
    command = [sys.executable, "-m", "vlmeval_spy.models.serving.batched_server", model, "--port", str(port)]
    server = subprocess.Popen([*command, "--request-timeout", "20"], stderr=subprocess.DEVNULL)
    try:
        client = KeepAliveClient(f"http://127.0.0.1:{port}", 5)
        for _ in range(600):
            try:
                if client.request("GET", "/health")[0] == 200:
                    break
            except Exception:  # not listening yet
                time.sleep(0.2)
        rss = memory_mb(server.pid, "VmRSS")
        huge = timed(lambda: chat(port, model, "word " * int(args.text_mb * 2**20 / 5)))
        body = timed(lambda: announced_60mb(port))
        buffer = io.BytesIO()
        Image.new("RGB", (120, 90), (200, 20, 20)).save(buffer, format="PNG")
        url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
        content = [{"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": "Who is this?"}]
        normal = [timed(lambda: chat(port, model, content)) for _ in range(args.normal)]
        health = client.request("GET", "/health")[0]
        figures = {
            "text_mb": args.text_mb,
            "huge_prompt": huge,
            "announced_60mb_body": body,
            "normal_after": normal,
            "health_after": health,
            "rss_before_mb": round(rss, 1),
            "peak_rss_mb": round(memory_mb(server.pid, "VmHWM"), 1),
        }
    finally:
        server.terminate()
        server.wait(30)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
