"""Remote endpoints honour HTTP_PROXY / HTTPS_PROXY / NO_PROXY; the servers a run starts are reached directly.

A recording proxy and a stand-in endpoint, both on loopback, answer every request with who they
are, so each test sees which one a request reached.
"""

from __future__ import annotations

import base64
import http.server
import json
import threading
from collections.abc import Iterator

import pytest

from vlmeval_spy.models.serving.http_client import KeepAliveClient, TransportError

PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "all_proxy")


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers any GET or POST with a chat completion whose text is the server's name; refuses CONNECT."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the client expects

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer()

    def do_CONNECT(self) -> None:
        self._record()
        self.send_error(502, "no tunnels here")

    def _answer(self) -> None:
        self._record()
        message = {"role": "assistant", "content": self.server.name}
        body = json.dumps({"data": [], "choices": [{"message": message}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _record(self) -> None:
        self.server.seen.append((self.requestline, self.headers.get("Proxy-Authorization")))

    def log_message(self, *args) -> None:
        pass


def start(name: str) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.name, server.seen, server.daemon_threads = name, [], True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


@pytest.fixture
def proxy() -> Iterator[http.server.ThreadingHTTPServer]:
    server = start("via proxy")
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint() -> Iterator[str]:
    """The stand-in endpoint's base URL."""
    server = start("direct")
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def proxy_url(proxy: http.server.ThreadingHTTPServer, credentials: str = "") -> str:
    return f"http://{credentials}127.0.0.1:{proxy.server_address[1]}"


def answer(client: KeepAliveClient) -> str:
    status, data = client.request("POST", "/chat/completions", b"{}", {"Content-Type": "application/json"})
    assert status == 200
    return json.loads(data)["choices"][0]["message"]["content"]


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy"])
def test_an_endpoint_is_reached_through_the_http_proxy(monkeypatch, proxy, endpoint: str, variable: str):
    monkeypatch.setenv(variable, proxy_url(proxy))
    client = KeepAliveClient(endpoint, 5, env_proxies=True)
    assert [answer(client), answer(client)] == ["via proxy", "via proxy"]
    assert [line for line, _ in proxy.seen] == [f"POST {endpoint}/chat/completions HTTP/1.1"] * 2


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.1", "*"])
def test_no_proxy_sends_an_endpoint_directly(monkeypatch, proxy, endpoint: str, no_proxy: str):
    monkeypatch.setenv("HTTP_PROXY", proxy_url(proxy))
    monkeypatch.setenv("NO_PROXY", no_proxy)
    assert answer(KeepAliveClient(endpoint, 5, env_proxies=True)) == "direct" and proxy.seen == []


def test_the_servers_a_run_starts_are_reached_directly(monkeypatch, proxy, endpoint: str):
    monkeypatch.setenv("HTTP_PROXY", proxy_url(proxy))
    assert answer(KeepAliveClient(endpoint, 5)) == "direct" and proxy.seen == []


def test_https_goes_through_a_connect_tunnel_with_the_proxy_credentials(monkeypatch, proxy):
    monkeypatch.setenv("HTTPS_PROXY", proxy_url(proxy, "user:p%40ss@"))
    with pytest.raises(TransportError, match="502"):
        answer(KeepAliveClient("https://127.0.0.1:8443/v1", 5, env_proxies=True))
    credentials = "Basic " + base64.b64encode(b"user:p@ss").decode()
    assert proxy.seen == [("CONNECT 127.0.0.1:8443 HTTP/1.0", credentials)]


def test_an_unusable_proxy_setting_is_refused(monkeypatch, endpoint: str):
    monkeypatch.setenv("HTTP_PROXY", "socks5://127.0.0.1:1080")
    with pytest.raises(ValueError, match="unsupported proxy 'socks5://127.0.0.1:1080'"):
        KeepAliveClient(endpoint, 5, env_proxies=True)


def test_a_served_model_at_an_endpoint_asks_through_the_proxy(monkeypatch, proxy, endpoint: str):
    from vlmeval_spy.harness.served_model import SPYServedVLM

    monkeypatch.setenv("HTTP_PROXY", proxy_url(proxy))
    model = SPYServedVLM("tiny", endpoint=endpoint, retry=1)
    assert model.generate([{"type": "text", "value": "hello"}]) == "via proxy"
    assert [line for line, _ in proxy.seen] == [
        f"GET {endpoint}/models HTTP/1.1",
        f"POST {endpoint}/chat/completions HTTP/1.1",
    ]
