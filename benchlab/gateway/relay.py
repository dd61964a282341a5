"""Relaying an upstream stream to the client event by event, recording it on the way."""

from __future__ import annotations

import asyncio
import time

from benchlab.gateway.answers import offered_tool_names
from benchlab.gateway.asgi import Receive, Send
from benchlab.gateway.call import PendingCall, scrub
from benchlab.gateway.stream import (
    EventSplitter,
    StreamAccumulator,
    event_data,
    is_usage_only,
    stream_error_event,
)
from benchlab.gateway.upstream import UPSTREAM_ERRORS, UpstreamResponse

STREAM_HEADERS = [(b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]
_UNPARSED = object()


class _DisconnectWatch:
    """Cancels the relaying task when the client goes away.

    ASGI servers report a disconnect only to ``receive``, and a send to a gone client is
    silently dropped, so without this a stream would run upstream to its end.
    """

    def __init__(self, receive: Receive) -> None:
        self.disconnected = False
        self.finished = False
        self._relaying = asyncio.current_task()
        self._task = asyncio.get_running_loop().create_task(self._watch(receive))

    async def _watch(self, receive: Receive) -> None:
        # Returns on a disconnect, or once the answer is complete (then ``finished``).
        await receive()
        if not self.finished and self._relaying is not None:
            self.disconnected = True
            self._relaying.cancel()

    def stop(self) -> None:
        self.finished = True
        self._task.cancel()


async def relay(
    call: PendingCall,
    upstream: UpstreamResponse,
    receive: Receive,
    send: Send,
    *,
    drop_usage: bool,
) -> None:
    """Send the upstream's events on as they come (whole events, one write per upstream
    read), parse them for the record after they went, and record the call at the end.

    Args:
        call: The call being answered.
        upstream: The upstream's 200 answer, its body not yet read.
        receive: The client's ASGI ``receive``, to notice a disconnect.
        send: The client's ASGI ``send``; the response has not started.
        drop_usage: Keep the usage-only chunk (asked for by the gateway) from the client.
    """
    acc = StreamAccumulator(offered_tool_names(call.body), call.started)
    splitter = EventSplitter()
    error: str | None = "client disconnected"
    end_ns: int | None = None
    media = (upstream.content_type or "text/event-stream").encode("latin-1")
    headers = [(b"content-type", media), *STREAM_HEADERS]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    watch = _DisconnectWatch(receive)
    try:
        try:
            async for data in upstream.chunks():
                events = [*splitter.feed(data)]
                await _forward(events, acc, send, drop_usage)
            rest = splitter.rest()
            if rest:
                await send({"type": "http.response.body", "body": rest, "more_body": True})
                acc.add(event_data(rest))
            error = None
        except UPSTREAM_ERRORS as exc:
            error = f"upstream stream broke: {type(exc).__name__}: {exc}"
            # The status line is long sent; an error event (as OpenAI and llama-server
            # send mid-stream) with no [DONE] after it is how the client learns.
            event = stream_error_event(scrub(error, call.recorder.api_key))
            await send({"type": "http.response.body", "body": event, "more_body": True})
        end_ns = time.time_ns()
        watch.stop()
        await send({"type": "http.response.body", "body": b""})
    except asyncio.CancelledError:
        if not watch.disconnected:
            raise
        # The client is gone: nothing to answer, the record below is all that is left.
        # A client that closes once it has the whole answer did not cut it short.
        if acc.answer.finish_reason is not None:
            error = None
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
    finally:
        watch.stop()
        # Record before any await: under cancellation an await here would not return.
        call.record(acc.result(), status=200, error=error, ttft_s=acc.ttft_s, end_ns=end_ns)
        await upstream.aclose()


async def _forward(events: list[bytes], acc: StreamAccumulator, send: Send, drop: bool) -> None:
    parsed: list[object] = []
    kept: list[bytes] = []
    for event in events:
        # Only an event that mentions usage can be the one to drop; it is parsed first,
        # every other one after it has gone out.
        chunk = event_data(event) if drop and b'"usage"' in event else _UNPARSED
        parsed.append(chunk)
        if chunk is _UNPARSED or not is_usage_only(chunk):
            kept.append(event)
    try:
        if kept:
            body = kept[0] if len(kept) == 1 else b"".join(kept)
            await send({"type": "http.response.body", "body": body, "more_body": True})
    finally:
        # Also when a disconnect cancels the send: the events may have reached the
        # client, and the record must not lose the usage they carry.
        for event, chunk in zip(events, parsed, strict=True):
            acc.add(event_data(event) if chunk is _UNPARSED else chunk)
