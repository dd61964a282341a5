"""The gateway's upstream hop: HTTP/1.1 on asyncio with httptools' parser, keep-alive pooled.

A general client (httpx, httpcore) parses HTTP in pure Python, goes through anyio, and
writes a request's head and body in separate sends; on the gateway's hot path that was
most of its cost. This client does one thing: POST a body, read or stream the answer,
with the request in one write and the response parsed in C (see ``bench/RESULTS.md``).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from benchlab.gateway.connection import Connection, RemoteProtocolError, UpstreamError


class ConnectError(UpstreamError):
    """The upstream could not be reached."""


class ConnectTimeout(ConnectError):
    """The upstream did not accept a connection in time."""


UPSTREAM_ERRORS: tuple[type[Exception], ...] = (UpstreamError,)
"""What a failed upstream exchange raises."""


@dataclass(frozen=True)
class Target:
    """Where one upstream URL's requests go, parsed once."""

    host: str
    port: int
    tls: bool
    path: str
    netloc: str

    @classmethod
    def parse(cls, url: str) -> Target:
        """Split an ``http(s)://host[:port]/path`` URL."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConnectError(f"unsupported upstream URL {url!r}")
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(parts.hostname, port, tls, path, parts.netloc)


@dataclass
class UpstreamResponse:
    """An upstream answer whose body is read as the caller goes."""

    status: int
    """HTTP status."""

    content_type: str | None
    """The ``content-type`` header."""

    connection: Connection
    """The connection the body arrives on."""

    client: UpstreamClient
    """Where the connection goes back when the body is done."""

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body's bytes as they arrive; the connection goes back to the pool at the end."""
        while True:
            data = await self.connection.next_body()
            if data is None:
                self.aclose_now()
                return
            yield data

    async def read(self) -> bytes:
        """The whole body; the connection goes back to the pool."""
        parts = [data async for data in self.chunks()]
        return b"".join(parts)

    def aclose_now(self) -> None:
        """Release the connection: pooled if its answer is complete, else closed."""
        self.client.release(self.connection)

    async def aclose(self) -> None:
        """Release the connection."""
        self.aclose_now()


class UpstreamClient:
    """POSTs JSON to upstreams through one keep-alive pool; an async context manager."""

    def __init__(self, connect_timeout_s: float, read_timeout_s: float) -> None:
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self._idle: defaultdict[tuple[str, int, bool], deque[Connection]] = defaultdict(deque)
        self._targets: dict[str, Target] = {}
        self._tls: ssl.SSLContext | None = None

    async def __aenter__(self) -> UpstreamClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()

    def _target(self, url: str) -> Target:
        target = self._targets.get(url)
        if target is None:
            target = self._targets[url] = Target.parse(url)
        return target

    async def _connect(self, target: Target) -> Connection:
        loop = asyncio.get_running_loop()
        if target.tls and self._tls is None:
            self._tls = ssl.create_default_context()
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                _, connection = await loop.create_connection(
                    lambda: Connection(self.read_timeout_s),
                    target.host,
                    target.port,
                    ssl=self._tls if target.tls else None,
                )
        except TimeoutError as exc:
            raise ConnectTimeout(f"no connection to {target.netloc} in time") from exc
        except OSError as exc:
            raise ConnectError(str(exc) or type(exc).__name__) from exc
        connection.key = (target.host, target.port, target.tls)
        return connection

    def _pooled(self, target: Target) -> Connection | None:
        idle = self._idle.get((target.host, target.port, target.tls))
        while idle:
            connection = idle.pop()  # the most recently used is the least likely closed
            if connection.reusable:
                return connection
            connection.close()
        return None

    def release(self, connection: Connection) -> None:
        """Take a connection back: kept for the next call if it can carry one."""
        if connection.reusable and connection.key is not None:
            connection.reset()
            self._idle[connection.key].append(connection)
        else:
            connection.close()

    @staticmethod
    def _request(target: Target, payload: bytes, api_key: str | None) -> bytes:
        head = [
            f"POST {target.path} HTTP/1.1\r\nhost: {target.netloc}\r\n"
            "content-type: application/json\r\n"
            # Identity encoding keeps streamed bytes forwardable as they arrive.
            f"accept-encoding: identity\r\ncontent-length: {len(payload)}\r\n"
        ]
        if api_key:
            head.append(f"authorization: Bearer {api_key}\r\n")
        head.append("\r\n")
        return "".join(head).encode("latin-1") + payload

    async def post(self, url: str, payload: bytes, api_key: str | None) -> UpstreamResponse:
        """Send one request; the body is left to read.

        Raises:
            UpstreamError: When the upstream cannot be reached or breaks the exchange.
        """
        target = self._target(url)
        request = self._request(target, payload, api_key)
        connection = self._pooled(target)
        if connection is not None:
            try:
                return await self._exchange(connection, request)
            except RemoteProtocolError:
                # The upstream had closed the pooled connection: nothing was answered,
                # so one retry on a fresh connection is safe. llama-server closes its
                # side after every streamed answer, so the next call can race with that.
                pass
        return await self._exchange(await self._connect(target), request)

    async def _exchange(self, connection: Connection, request: bytes) -> UpstreamResponse:
        try:
            await connection.send(request)
        except BaseException:
            connection.close()
            raise
        return UpstreamResponse(connection.status, connection.content_type, connection, self)
