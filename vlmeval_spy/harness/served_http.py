"""HTTP/1.1 keep-alive requests to one server, one connection per sending thread (standard library only).

VLMEvalKit's API inference sends from `--api-nproc` threads, and every byte of a request is
built in the evaluating process, on the same cores as a local server. A connection of each
thread's own needs no pool and no locks: against an instant server on two cores, 2,600 requests
a second where urllib3's pool manager gives 1,200 (`scripts/bench_infer.py` measures the harness).
"""

from __future__ import annotations

import http.client
import threading
import urllib.parse

STALE_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
"""What sending on a keep-alive connection the server has closed raises: sent again on a new one."""


class TransportError(Exception):
    """No HTTP answer: connection refused, reset or timed out."""


class KeepAliveClient:
    """Requests to `base_url` (`http(s)://host[:port][/prefix]`); `path`s are relative to it."""

    def __init__(self, base_url: str, timeout: float) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self.host, self.port = parts.hostname, parts.port
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.local = threading.local()

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
            connection = self.connection_class(self.host, self.port, timeout=timeout)
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
        self.local.connection = self.connection_class(self.host, self.port, timeout=self.timeout)
        return self.local.connection

    def _send(
        self, connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None, headers: dict
    ) -> tuple[int, bytes]:
        try:
            connection.request(method, self.prefix + path, body=body, headers=headers)
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
