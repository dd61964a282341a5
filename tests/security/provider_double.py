"""An API provider that checks its key: a loopback OpenAI-compatible server standing in
for a paid provider (the one edge the tests cannot reach).

It answers ``POST /v1/chat/completions`` (not streamed) with a fixed text, keeps the
``Authorization`` header of every request, and answers a request that asks
``Say OK (echo).`` with a 401 whose message repeats the bearer key in full, as some
providers and proxies do: the harshest case for keeping a key out of the records.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.loopback import LoopbackServer

ECHO_TRIGGER = "Say OK (echo)."
"""A request whose messages contain this is refused with the key in the message."""


class KeyCheckingProvider(LoopbackServer):
    """Answers chat completions with ``text``; records each request's bearer key."""

    def __init__(self, text: str = "OK", model: str = "provider-model") -> None:
        self.text = text
        self.model = model
        self.keys: list[str] = []
        self._lock = threading.Lock()
        super().__init__(self._handler())

    def _answer(self, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.keys.append(key)
        if ECHO_TRIGGER in json.dumps(body.get("messages", [])):
            message = f"Incorrect API key provided: {key}. Find your key in your account."
            error = {"message": message, "type": "invalid_request_error", "code": "invalid_key"}
            return 401, {"error": error}
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": self.text},
            "finish_reason": "stop",
        }
        return 200, {
            "id": "chatcmpl-provider",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [choice],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    return self._json(404, {"error": {"message": "not found"}})
                auth = self.headers.get("Authorization") or ""
                key = auth.removeprefix("Bearer ").strip()
                self._json(*double._answer(key, body))

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
