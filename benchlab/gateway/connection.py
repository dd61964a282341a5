"""One upstream HTTP/1.1 connection: an asyncio protocol around httptools' response parser."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import cast

import httptools

# Past this much unread body the socket stops being read until the gateway catches up.
_HIGH_WATER = 1 << 20


class UpstreamError(Exception):
    """An upstream exchange that failed."""


class RemoteProtocolError(UpstreamError):
    """The upstream closed the connection before answering anything."""


class ReadError(UpstreamError):
    """The connection broke, or the answer could not be parsed, part way through."""


class ReadTimeout(UpstreamError):
    """The upstream sent nothing for longer than the read timeout."""


class Connection(asyncio.Protocol):
    """A keep-alive connection carrying one exchange at a time.

    httptools calls ``on_*`` as bytes arrive; the exchange waits on one future at a time.
    """

    def __init__(self, read_timeout_s: float) -> None:
        self.read_timeout_s = read_timeout_s
        self.key: tuple[str, int, bool] | None = None
        """The pool this connection belongs to: host, port, TLS."""
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[None] | None = None
        self._body: deque[bytes] = deque()
        self._buffered = 0
        self._closed = False
        self.reset()

    def reset(self) -> None:
        """Forget the last exchange (the connection is idle again)."""
        self.status = 0
        self.content_type: str | None = None
        self._busy = False
        self._received = False
        self._head_done = False
        self._complete = False
        self._sized = False
        self._keep_alive = True
        self._error: UpstreamError | None = None

    @property
    def open(self) -> bool:
        """Whether the connection can still carry bytes."""
        transport = self._transport
        return not self._closed and transport is not None and not transport.is_closing()

    @property
    def reusable(self) -> bool:
        """Whether the connection can carry another exchange once this one is read."""
        done = not self._busy or (self._complete and self._keep_alive and self._error is None)
        return done and self.open

    def close(self) -> None:
        """Close the socket."""
        if self._transport is not None:
            self._transport.close()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports quack like asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if not self._busy:
            self.close()  # bytes nobody asked for: the connection is not trustworthy
            return
        self._received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ReadError(f"unreadable upstream answer: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if not self._busy or self._complete:
            return
        if self._head_done and not self._sized:
            self._complete = True  # a body delimited by the connection's end
            self._wake()
        elif not self._received:
            self._fail(RemoteProtocolError("Server disconnected without sending a response."))
        else:
            self._fail(ReadError(f"the upstream closed the connection mid-answer ({exc})"))

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"content-type":
            self.content_type = value.decode("latin-1")
        elif name == b"content-length" or (
            name == b"transfer-encoding" and b"chunked" in value.lower()
        ):
            self._sized = True

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        self._keep_alive = self._parser.should_keep_alive()
        self._sized = self._sized or self.status in (204, 304)
        self._head_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)
        self._buffered += len(body)
        if self._buffered > _HIGH_WATER and self._transport is not None:
            self._transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self._complete = True
        self._wake()

    # The exchange

    async def send(self, request: bytes) -> None:
        """Write a whole request; returns once the answer's status and headers are in."""
        if not self.open or self._transport is None:
            raise RemoteProtocolError("Server disconnected without sending a response.")
        self._busy = True
        self._transport.write(request)
        while not self._head_done:
            await self._wait()

    async def next_body(self) -> bytes | None:
        """The body bytes received since the last call; None once the body is complete."""
        while True:
            if self._body:
                data = self._body.popleft() if len(self._body) == 1 else b"".join(self._body)
                self._body.clear()
                if self._buffered > _HIGH_WATER and self._transport is not None:
                    self._transport.resume_reading()
                self._buffered = 0
                return data
            if self._complete:
                return None
            await self._wait()

    async def _wait(self) -> None:
        if self._error is not None:
            raise self._error
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        timer = loop.call_later(self.read_timeout_s, self._time_out)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None
        if self._error is not None:
            raise self._error

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, error: UpstreamError) -> None:
        if self._error is None:
            self._error = error
        self._wake()

    def _time_out(self) -> None:
        self._fail(ReadTimeout(f"the upstream sent nothing for {self.read_timeout_s:g} s"))
        self.close()
