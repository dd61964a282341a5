"""The gateway's ASGI app: per-trial OpenAI routes that forward, record and limit."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from benchlab.gateway.answers import offered_tool_names, parse_answer
from benchlab.gateway.call import PendingCall, openai_error, scrub
from benchlab.gateway.recorder import TrialRecorder
from benchlab.gateway.stream import (
    EventSplitter,
    StreamAccumulator,
    event_data,
    is_usage_only,
    stream_error_event,
)
from benchlab.gateway.upstream import UPSTREAM_ERRORS, UpstreamClient, UpstreamResponse


class GatewayApp:
    """Routes ``/t/{trial_id}/v1/...`` to each trial's upstream through one HTTP client."""

    def __init__(self, routes: Mapping[str, TrialRecorder], timeout: httpx.Timeout) -> None:
        self.routes = routes
        self.timeout = timeout
        self.client: UpstreamClient | None = None
        self.app = Starlette(
            routes=[
                Route("/t/{trial_id}/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/t/{trial_id}/v1/completions", self.completions, methods=["POST"]),
                Route("/t/{trial_id}/v1/models", self.models, methods=["GET"]),
            ],
            exception_handlers={HTTPException: self._http_error},
            lifespan=self._lifespan,
        )

    @asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        async with UpstreamClient(self.timeout) as client:
            self.client = client
            yield
        self.client = None

    async def _http_error(self, _request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        return openai_error(status, f"benchlab gateway: {exc}", "invalid_request_error")

    def _recorder(self, request: Request) -> TrialRecorder | None:
        return self.routes.get(request.path_params["trial_id"])

    async def models(self, request: Request) -> Response:
        """List the one model this trial may use, under the name the upstream knows."""
        recorder = self._recorder(request)
        if recorder is None:
            return self._unknown(request)
        model = {"id": recorder.model_alias, "object": "model", "owned_by": "benchlab"}
        return JSONResponse({"object": "list", "data": [model]})

    async def chat(self, request: Request) -> Response:
        """``POST /t/{trial_id}/v1/chat/completions``."""
        return await self._proxy(request, "chat/completions")

    async def completions(self, request: Request) -> Response:
        """``POST /t/{trial_id}/v1/completions``."""
        return await self._proxy(request, "completions")

    def _unknown(self, request: Request) -> Response:
        trial = request.path_params["trial_id"]
        return openai_error(
            404, f"benchlab gateway: no open route for trial {trial!r}", "not_found"
        )

    async def _proxy(self, request: Request, endpoint: str) -> Response:
        recorder = self._recorder(request)
        if recorder is None:
            return self._unknown(request)
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            call = PendingCall(recorder, endpoint, {})
            message = "benchlab gateway: the request body is not a JSON object"
            call.record(None, status=400, error=message)
            return openai_error(400, message, "invalid_request_error")
        call = PendingCall(recorder, endpoint, body)
        if call.refused:
            message = recorder.refusal_message(call.refused)
            call.record(None, status=400, error=message, stopped_by=call.refused)
            return openai_error(400, message, "invalid_request_error", "benchlab_limit_reached")
        if body.get("stream"):
            return await self._stream(call)
        return await self._plain(call)

    async def _send(self, call: PendingCall, **overrides: Any) -> UpstreamResponse:
        assert self.client is not None, "the gateway app runs without its lifespan"
        payload = {
            **call.body,
            "model": call.recorder.model_alias,
            **call.token_cap(),
            **overrides,
        }
        url = f"{call.recorder.upstream_base_url}/{call.endpoint}"
        return await self.client.post(url, json.dumps(payload).encode(), call.recorder.api_key)

    def _unreachable(self, call: PendingCall, exc: Exception) -> Response:
        message = f"benchlab gateway: upstream failed: {type(exc).__name__}: {exc}"
        call.record(None, status=502, error=message)
        return openai_error(502, scrub(message, call.recorder.api_key), "upstream_error")

    async def _plain(self, call: PendingCall) -> Response:
        try:
            upstream = await self._send(call)
            content = await upstream.read()
        except UPSTREAM_ERRORS as exc:
            return self._unreachable(call, exc)
        offered = offered_tool_names(call.body)
        answer, error = None, None
        try:
            if upstream.status == 200:
                data = json.loads(content)
                if not isinstance(data, dict):
                    raise ValueError("not a JSON object")
                answer = parse_answer(data, offered)
            else:
                error = content[:2000].decode(errors="replace")
        except ValueError as exc:
            error = f"unreadable upstream answer: {exc}"
        call.record(answer, status=upstream.status, error=error)
        media = upstream.content_type or "application/json"
        return Response(content, status_code=upstream.status, media_type=media)

    async def _stream(self, call: PendingCall) -> Response:
        options = call.body.get("stream_options")
        asked_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        overrides = {}
        if not asked_usage:
            # Usage is needed for the record; the extra chunk is dropped again below.
            overrides["stream_options"] = {**(options or {}), "include_usage": True}
        try:
            upstream = await self._send(call, **overrides)
            content = await upstream.read() if upstream.status != 200 else b""
        except UPSTREAM_ERRORS as exc:
            return self._unreachable(call, exc)
        if upstream.status != 200:
            call.record(None, status=upstream.status, error=content.decode(errors="replace"))
            media = upstream.content_type or "application/json"
            return Response(content, status_code=upstream.status, media_type=media)
        return StreamingResponse(
            self._relay(call, upstream, drop_usage=not asked_usage),
            media_type=upstream.content_type or "text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )

    async def _relay(
        self, call: PendingCall, upstream: UpstreamResponse, *, drop_usage: bool
    ) -> AsyncIterator[bytes]:
        acc = StreamAccumulator(offered_tool_names(call.body), call.started)
        splitter = EventSplitter()
        error: str | None = "client disconnected"
        try:
            async for data in upstream.chunks():
                for event in splitter.feed(data):
                    chunk = event_data(event)
                    acc.add(chunk)
                    if drop_usage and is_usage_only(chunk):
                        continue
                    yield event
            rest = splitter.rest()
            if rest:
                acc.add(event_data(rest))
                yield rest
            error = None
        except UPSTREAM_ERRORS as exc:
            error = f"upstream stream broke: {type(exc).__name__}: {exc}"
            # The status line is long sent; an error event (as OpenAI and llama-server
            # send mid-stream) with no [DONE] after it is how the client learns.
            yield stream_error_event(scrub(error, call.recorder.api_key))
        finally:
            # Record before any await: under cancellation an await here would not return.
            call.record(acc.result(), status=200, error=error, ttft_s=acc.ttft_s)
            await upstream.aclose()
