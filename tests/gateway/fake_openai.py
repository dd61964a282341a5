"""A tiny real HTTP server speaking the OpenAI protocol, standing in for an API provider.

It answers with whatever the test set: a body, or a list of chunks streamed as SSE
with a pause between them. It remembers the headers and bodies it received.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Script:
    """What the fake answers next."""

    body: dict[str, Any] = field(default_factory=dict)
    chunks: list[dict[str, Any]] = field(default_factory=list)
    pause_s: float = 0.0
    status: int = 200
    echo_auth: bool = False
    seen: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    """Request bodies exactly as they arrived."""
    connections: int = 0
    """Connections opened to the fake so far."""


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def setup(self) -> None:
            script.connections += 1
            super().setup()

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["content-length"]))
            script.raw.append(raw)
            body = json.loads(raw)
            script.seen.append(({k.lower(): v for k, v in self.headers.items()}, body))
            if script.status != 200:
                text = self.headers.get("authorization", "") if script.echo_auth else "nope"
                self._send(script.status, json.dumps({"error": {"message": text}}).encode())
            elif body.get("stream"):
                self._stream(body)
            else:
                self._send(200, json.dumps(script.body).encode())

        def _send(self, status: int, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _stream(self, body: dict[str, Any]) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            chunks = list(script.chunks)
            wants_usage = (body.get("stream_options") or {}).get("include_usage")
            if not wants_usage:
                chunks = [c for c in chunks if c.get("choices")]
            for chunk in chunks:
                self._write(f"data: {json.dumps(chunk)}\n\n".encode())
                time.sleep(script.pause_s)
            self._write(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")

        def _write(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler


@contextmanager
def fake_openai() -> Iterator[tuple[str, Script]]:
    """Run the fake on a free loopback port; yields its ``/v1`` base URL and its script."""
    script = Script()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", script
    finally:
        server.shutdown()
        server.server_close()
