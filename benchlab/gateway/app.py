"""The gateway's ASGI app: per-trial OpenAI routes that forward, record and limit.

A plain ASGI callable, not a framework: routing is three fixed paths under
``/t/<trial_id>/v1/``, and on the hot path every step costs latency (see
``bench/RESULTS.md``). Each call is recorded after its answer has gone to the client.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

from benchlab.gateway.answers import Answer, offered_tool_names, parse_answer
from benchlab.gateway.asgi import Receive, Scope, Send, error_body, read_body, send_answer
from benchlab.gateway.call import PendingCall, scrub, scrub_bytes
from benchlab.gateway.recorder import TrialRecorder
from benchlab.gateway.relay import relay
from benchlab.gateway.upstream import UPSTREAM_ERRORS, UpstreamClient

# Endpoint under ``/t/<trial_id>/v1/`` -> the one method it answers.
ENDPOINTS = {"chat/completions": "POST", "completions": "POST", "models": "GET"}


class GatewayApp:
    """Routes ``/t/{trial_id}/v1/...`` to each trial's upstream through one HTTP client."""

    def __init__(
        self, routes: Mapping[str, TrialRecorder], connect_timeout_s: float, read_timeout_s: float
    ) -> None:
        self.routes = routes
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.client: UpstreamClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.client = UpstreamClient(self.connect_timeout_s, self.read_timeout_s)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.client is not None:
                    await self.client.__aexit__(None, None, None)
                self.client = None
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        # "/t/<trial>/v1/<endpoint>" -> ["", "t", trial, "v1", endpoint]
        parts = scope["path"].split("/", 4)
        if len(parts) != 5 or parts[1] != "t" or parts[3] != "v1" or not parts[2]:
            parts = ["", "", "", "", ""]
        endpoint = parts[4]
        if endpoint not in ENDPOINTS:
            message = "benchlab gateway: 404: Not Found"
            return await _error(send, 404, message, "invalid_request_error")
        if scope["method"] != ENDPOINTS[endpoint]:
            message = "benchlab gateway: 405: Method Not Allowed"
            return await _error(send, 405, message, "invalid_request_error")
        recorder = self.routes.get(parts[2])
        if recorder is None:
            message = f"benchlab gateway: no open route for trial {parts[2]!r}"
            return await _error(send, 404, message, "not_found")
        if endpoint == "models":
            model = {"id": recorder.model_alias, "object": "model", "owned_by": "benchlab"}
            return await send_answer(
                send, 200, json.dumps({"object": "list", "data": [model]}).encode()
            )
        raw = await read_body(receive)
        await self._proxy(recorder, endpoint, raw, receive, send)

    async def _proxy(
        self, recorder: TrialRecorder, endpoint: str, raw: bytes, receive: Receive, send: Send
    ) -> None:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            call = PendingCall(recorder, endpoint, {})
            message = "benchlab gateway: the request body is not a JSON object"
            await _error(send, 400, message, "invalid_request_error")
            return call.record(None, status=400, error=message)
        call = PendingCall(recorder, endpoint, body)
        try:
            if call.refused:
                message = recorder.refusal_message(call.refused)
                await _error(send, 400, message, "invalid_request_error", "benchlab_limit_reached")
                call.record(None, status=400, error=message, stopped_by=call.refused)
            elif body.get("stream"):
                await self._stream(call, raw, receive, send)
            else:
                await self._plain(call, raw, send)
        except BaseException as exc:
            # A failure of the gateway itself (or its shutdown) still leaves a record.
            call.record(None, status=500, error=f"benchlab gateway: {type(exc).__name__}: {exc}")
            raise

    async def _plain(self, call: PendingCall, raw: bytes, send: Send) -> None:
        assert self.client is not None, "the gateway app runs without its lifespan"
        url = f"{call.recorder.upstream_base_url}/{call.endpoint}"
        try:
            upstream = await self.client.post(
                url, call.upstream_payload(raw), call.recorder.api_key
            )
            content = await upstream.read()
        except UPSTREAM_ERRORS as exc:
            return await self._unreachable(call, exc, send)
        if upstream.status != 200:
            content = scrub_bytes(content, call.recorder.api_key)
        media = (upstream.content_type or "application/json").encode("latin-1")
        await send_answer(send, upstream.status, content, media)
        end_ns = time.time_ns()
        # The client has its answer; reading it for the record costs it nothing now.
        answer: Answer | None = None
        error: str | None = None
        try:
            if upstream.status == 200:
                data = json.loads(content)
                if not isinstance(data, dict):
                    raise ValueError("not a JSON object")
                answer = parse_answer(data, offered_tool_names(call.body))
            else:
                error = content[:2000].decode(errors="replace")
        except ValueError as exc:
            error = f"unreadable upstream answer: {exc}"
        call.record(answer, status=upstream.status, error=error, end_ns=end_ns)

    async def _stream(self, call: PendingCall, raw: bytes, receive: Receive, send: Send) -> None:
        assert self.client is not None, "the gateway app runs without its lifespan"
        options = call.body.get("stream_options")
        asked_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        # Usage is needed for the record; the extra chunk is dropped again in the relay.
        overrides = (
            {} if asked_usage else {"stream_options": {**(options or {}), "include_usage": True}}
        )
        url = f"{call.recorder.upstream_base_url}/{call.endpoint}"
        payload = call.upstream_payload(raw, **overrides)
        try:
            upstream = await self.client.post(url, payload, call.recorder.api_key)
            content = await upstream.read() if upstream.status != 200 else b""
        except UPSTREAM_ERRORS as exc:
            return await self._unreachable(call, exc, send)
        if upstream.status != 200:
            content = scrub_bytes(content, call.recorder.api_key)
            media = (upstream.content_type or "application/json").encode("latin-1")
            await send_answer(send, upstream.status, content, media)
            return call.record(None, status=upstream.status, error=content.decode(errors="replace"))
        await relay(call, upstream, receive, send, drop_usage=not asked_usage)

    async def _unreachable(self, call: PendingCall, exc: Exception, send: Send) -> None:
        message = f"benchlab gateway: upstream failed: {type(exc).__name__}: {exc}"
        await _error(send, 502, scrub(message, call.recorder.api_key), "upstream_error")
        call.record(None, status=502, error=message)


async def _error(send: Send, status: int, message: str, kind: str, code: str | None = None) -> None:
    await send_answer(send, status, error_body(message, kind, code))
