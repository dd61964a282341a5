"""The gateway's upstream hop: httpcore's connection pool, used directly.

httpx adds request and response models, URL and header normalisation, auth, redirect
and cookie handling on top of httpcore; the gateway needs none of it, and skipping
it saves about half a millisecond per call (see ``bench/RESULTS.md``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlsplit

import httpcore
import httpx

UPSTREAM_ERRORS: tuple[type[Exception], ...] = (
    httpcore.ProtocolError,
    httpcore.NetworkError,
    httpcore.TimeoutException,
    httpcore.UnsupportedProtocol,
)
"""What a failed upstream exchange raises."""

# A pooled connection the upstream had already closed: nothing was answered, so one
# retry on a fresh connection is safe. llama-server closes its side after every
# streamed answer, so the next call can race with that close.
_STALE = (httpcore.RemoteProtocolError, httpcore.WriteError)


@dataclass
class UpstreamResponse:
    """An upstream answer whose body is read as the caller goes."""

    status: int
    """HTTP status."""

    content_type: str | None
    """The ``content-type`` header."""

    raw: httpcore.Response
    """httpcore's response, for streaming its body."""

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body's bytes as they arrive."""
        async for chunk in self.raw.aiter_stream():
            yield chunk

    async def read(self) -> bytes:
        """The whole body; the connection goes back to the pool."""
        try:
            return await self.raw.aread()
        finally:
            await self.raw.aclose()

    async def aclose(self) -> None:
        """Release the connection."""
        await self.raw.aclose()


class UpstreamClient:
    """POSTs JSON to upstreams through one keep-alive pool; an async context manager."""

    def __init__(self, timeout: httpx.Timeout) -> None:
        self._timeouts = {
            "connect": timeout.connect,
            "read": timeout.read,
            "write": timeout.write,
            "pool": timeout.pool,
        }
        self._pool: httpcore.AsyncConnectionPool | None = None

    async def __aenter__(self) -> UpstreamClient:
        self._pool = httpcore.AsyncConnectionPool(
            max_connections=None, max_keepalive_connections=64
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            await self._pool.aclose()
        self._pool = None

    def _request(self, url: str, payload: bytes, api_key: str | None) -> httpcore.Request:
        headers = [
            (b"host", urlsplit(url).netloc.encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            # Identity encoding keeps streamed bytes forwardable as they arrive.
            (b"accept-encoding", b"identity"),
        ]
        if api_key:
            headers.append((b"authorization", f"Bearer {api_key}".encode()))
        return httpcore.Request(
            "POST", url, headers=headers, content=payload, extensions={"timeout": self._timeouts}
        )

    async def post(self, url: str, payload: bytes, api_key: str | None) -> UpstreamResponse:
        """Send one request; the body is left to read.

        Raises:
            Exception: One of ``UPSTREAM_ERRORS`` when the upstream cannot be reached.
        """
        assert self._pool is not None, "the upstream client is used outside its context"
        try:
            raw = await self._pool.handle_async_request(self._request(url, payload, api_key))
        except _STALE:
            raw = await self._pool.handle_async_request(self._request(url, payload, api_key))
        content_type = next(
            (
                value.decode("latin-1")
                for key, value in raw.headers
                if key.lower() == b"content-type"
            ),
            None,
        )
        return UpstreamResponse(raw.status, content_type, raw)
