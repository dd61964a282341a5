"""A minimal OpenAI-protocol upstream that answers at once, to time the gateway alone.

Raw asyncio, no framework: a canned chat answer, or a canned two-chunk stream.
Run as ``python bench/null_upstream.py PORT``; it serves until killed.
"""

from __future__ import annotations

import asyncio
import json
import sys

ANSWER = json.dumps(
    {
        "choices": [{"index": 0, "finish_reason": "length", "message": {"content": "hi"}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2},
    }
).encode()
CHUNKS = [
    {"choices": [{"index": 0, "delta": {"content": "hi"}}]},
    {"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]},
    {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}},
]
STREAM = b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in CHUNKS) + b"data: [DONE]\n\n"


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = json.loads(await reader.readexactly(length)) if length else {}
            if body.get("stream"):
                payload, kind = STREAM, b"text/event-stream"
            else:
                payload, kind = ANSWER, b"application/json"
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: " + kind
                + b"\r\ncontent-length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload
            )  # fmt: skip
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def main(port: int) -> None:
    """Serve on 127.0.0.1:``port`` forever."""
    server = await asyncio.start_server(_serve, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
