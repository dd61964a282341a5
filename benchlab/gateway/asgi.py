"""The little of ASGI the gateway speaks: read a request body, send an answer."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON = b"application/json"


async def read_body(receive: Receive) -> bytes:
    """The whole request body."""
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body"):
        return bytes(body)
    parts = [body]
    while message.get("more_body"):
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        parts.append(message.get("body", b""))
    return b"".join(parts)


async def send_answer(send: Send, status: int, body: bytes, content_type: bytes = JSON) -> None:
    """A whole answer with a known length."""
    headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def error_body(message: str, kind: str, code: str | None = None) -> bytes:
    """An error answer's body, in the shape OpenAI clients parse."""
    return json.dumps({"error": {"message": message, "type": kind, "code": code or kind}}).encode()
