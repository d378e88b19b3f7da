"""HTTP/1.1 keep-alive requests to one server, one connection per sending thread (standard library only).

VLMEvalKit's API inference sends from `--api-nproc` threads, and every byte of a request is
built in the evaluating process, on the same cores as a local server. A connection of each
thread's own needs no pool and no locks: against an instant server on two cores, 2,600 requests
a second where urllib3's pool manager gives 1,200 (`scripts/bench_infer.py` measures the harness).

With `env_proxies`, requests go through the proxy that the standard variables name for the URL
(`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`, lower-case too), by urllib's rules: plain HTTP as
absolute-URL requests to the proxy, HTTPS through a CONNECT tunnel.
"""

from __future__ import annotations

import base64
import http.client
import threading
import urllib.parse
import urllib.request

STALE_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
"""What sending on a keep-alive connection the server has closed raises: sent again on a new one."""


class TransportError(Exception):
    """No HTTP answer: connection refused, reset or timed out."""


def environment_proxy(url: str) -> str | None:
    """The proxy URL that HTTP(S)_PROXY / NO_PROXY (or the system's settings) give for `url`, else None."""
    parts = urllib.parse.urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if not proxy or urllib.request.proxy_bypass(parts.netloc.rpartition("@")[2]):
        return None
    return proxy


def proxy_address(proxy_url: str) -> tuple[str, int, dict[str, str]]:
    """`(host, port, headers)` of an `http://[user:password@]host[:port]` proxy; the headers authenticate."""
    parts = urllib.parse.urlsplit(proxy_url if "://" in proxy_url else f"http://{proxy_url}")
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    if default_port is None or not parts.hostname:
        raise ValueError(f"unsupported proxy {proxy_url!r}: use http://host:port")
    headers = {}
    if parts.username:
        credentials = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode("ascii")
    return parts.hostname, parts.port or default_port, headers


class KeepAliveClient:
    """Requests to `base_url` (`http(s)://host[:port][/prefix]`); `path`s are relative to it.

    With `env_proxies`, through the proxy the environment names for `base_url` (remote
    endpoints); without, directly (the servers a run starts on loopback).
    """

    def __init__(self, base_url: str, timeout: float, *, env_proxies: bool = False) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self.host, self.port = parts.hostname, parts.port
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.local = threading.local()
        self.proxy: tuple[str, int] | None = None
        self.tunnel_headers: dict[str, str] = {}  # HTTPS: the proxy's credentials go with CONNECT only
        self.proxy_headers: dict[str, str] = {}  # plain HTTP: with every request
        proxy_url = environment_proxy(base_url) if env_proxies else None
        if proxy_url is not None:
            proxy_host, proxy_port, credentials = proxy_address(proxy_url)
            self.proxy = (proxy_host, proxy_port)
            if parts.scheme == "https":
                self.tunnel_headers = credentials
            else:  # a plain-HTTP proxy takes the absolute URL
                self.prefix = f"http://{parts.netloc.rpartition('@')[2]}{self.prefix}"
                self.proxy_headers = credentials

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict | None = None,
        timeout: float | None = None,
    ) -> tuple[int, bytes]:
        """`(status, body)` of one request; raises TransportError when no answer comes.

        With `timeout`, the request goes on a connection of its own, closed after it.
        """
        if timeout is not None:
            connection = self._connect(timeout)
            try:
                return self._send(connection, method, path, body, headers or {})
            finally:
                connection.close()
        reused = getattr(self.local, "connection", None)
        connection = reused or self._new_connection()
        try:
            return self._send(connection, method, path, body, headers or {})
        except TransportError as err:
            if reused is None or not isinstance(err.__cause__, STALE_ERRORS):
                raise
        return self._send(self._new_connection(), method, path, body, headers or {})

    def _new_connection(self) -> http.client.HTTPConnection:
        self.local.connection = self._connect(self.timeout)
        return self.local.connection

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        if self.proxy is None:
            return self.connection_class(self.host, self.port, timeout=timeout)
        connection = self.connection_class(*self.proxy, timeout=timeout)
        if self.connection_class is http.client.HTTPSConnection:
            connection.set_tunnel(self.host, self.port, self.tunnel_headers)
        return connection

    def _send(
        self, connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None, headers: dict
    ) -> tuple[int, bytes]:
        try:
            connection.request(method, self.prefix + path, body=body, headers={**self.proxy_headers, **headers})
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as err:
            self._drop(connection)
            raise TransportError(f"{type(err).__name__}: {err}") from err
        if response.will_close:
            self._drop(connection)
        return response.status, data

    def _drop(self, connection: http.client.HTTPConnection) -> None:
        connection.close()
        if getattr(self.local, "connection", None) is connection:
            self.local.connection = None
