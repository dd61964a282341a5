"""A scripted OpenAI-compatible chat-completions server, standing in for an API provider.

It speaks the real protocol (JSON answers and streamed SSE chunks, tool calls included)
so that a real agent CLI can be driven through a known conversation. Each request takes
the next scripted reply; the requests are kept for assertions.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.loopback import LoopbackServer


@dataclass(frozen=True)
class Reply:
    """One scripted answer: text, or one tool call (name + JSON arguments)."""

    text: str = ""
    tool: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    delay_s: float = 0.0


class ScriptedOpenAI(LoopbackServer):
    """A loopback HTTP server answering ``POST /v1/chat/completions`` from a script."""

    def __init__(self, replies: list[Reply], model: str = "scripted") -> None:
        self.replies = list(replies)
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        super().__init__(self._handler())

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(body)
            if self.replies:
                return self.replies.pop(0)
        return Reply(text="(script exhausted)")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._json({"object": "list", "data": [{"id": double.model}]})
                else:
                    self._json({"error": "not found"}, status=404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._json({"error": "not found"}, status=404)
                    return
                reply = double._next(body)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if body.get("stream"):
                    self._stream(reply)
                else:
                    self._json(_completion(double.model, reply))

            def _json(self, payload: dict[str, Any], status: int = 200) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                for chunk in _chunks(double.model, reply):
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        return Handler


_USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


def _completion(model: str, reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.tool:
        message["tool_calls"] = [_tool_call(reply)]
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": _finish(reply)}],
        "usage": _USAGE,
    }


def _tool_call(reply: Reply) -> dict[str, Any]:
    return {
        "id": f"call_{reply.tool}",
        "type": "function",
        "function": {"name": reply.tool, "arguments": json.dumps(reply.arguments)},
    }


def _finish(reply: Reply) -> str:
    return "tool_calls" if reply.tool else "stop"


def _chunks(model: str, reply: Reply) -> Iterator[dict[str, Any]]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-scripted",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    yield chunk({"role": "assistant", "content": ""})
    if reply.text:
        # Split the text so that the client really assembles deltas.
        half = len(reply.text) // 2
        yield chunk({"content": reply.text[:half]})
        yield chunk({"content": reply.text[half:]})
    if reply.tool:
        call = _tool_call(reply)
        args = call["function"]["arguments"]
        yield chunk(
            {
                "tool_calls": [
                    {"index": 0, **call, "function": {"name": reply.tool, "arguments": ""}}
                ]
            }
        )
        yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": args}}]})
    yield chunk({}, _finish(reply))
    final = chunk({})
    final["choices"] = []
    final["usage"] = _USAGE
    yield final
