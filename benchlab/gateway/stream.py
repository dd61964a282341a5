"""Server-sent events: split a byte stream into events and reassemble the answer."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

from benchlab.gateway.answers import Answer, make_tool_call, parse_timings, parse_usage

_EVENT_END = re.compile(rb"\r?\n\r?\n")


class EventSplitter:
    """Cuts a byte stream into whole SSE events (each with its blank-line terminator).

    Upstream servers write one event per write, so forwarding whole events adds no
    wait; a partial event is held only until its end arrives.
    """

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Add bytes; yields every event completed by them."""
        self._buffer += data
        while True:
            match = _EVENT_END.search(self._buffer)
            if match is None:
                return
            event, self._buffer = self._buffer[: match.end()], self._buffer[match.end() :]
            yield event

    def rest(self) -> bytes:
        """Bytes left after the last complete event (a stream cut mid-event)."""
        rest, self._buffer = self._buffer, b""
        return rest


def event_data(event: bytes) -> Any:
    """The JSON payload of an event's ``data:`` lines; None for ``[DONE]``, comments, junk."""
    lines = [
        line[5:].strip()
        for line in event.decode("utf-8", errors="replace").splitlines()
        if line.startswith("data:")
    ]
    payload = "\n".join(lines)
    if not payload or payload == "[DONE]":
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return None


def stream_error_event(message: str) -> bytes:
    """An SSE event carrying an OpenAI-style error, for a stream that cannot go on."""
    error = {"message": message, "type": "upstream_error", "code": "upstream_error"}
    return f"data: {json.dumps({'error': error})}\n\n".encode()


def is_usage_only(chunk: Any) -> bool:
    """Whether a chunk is the extra usage chunk that ``include_usage`` adds."""
    return isinstance(chunk, dict) and chunk.get("usage") is not None and not chunk.get("choices")


class StreamAccumulator:
    """Rebuilds the answer from chunks, and notes when the first token arrived."""

    def __init__(self, offered: set[str], started: float) -> None:
        self.offered = offered
        self.started = started
        self.ttft_s: float | None = None
        self.answer = Answer()
        self._text: list[str] = []
        self._calls: dict[int, dict[str, str]] = {}

    def add(self, chunk: Any) -> None:
        """Take one parsed chunk into account."""
        if not isinstance(chunk, dict):
            return
        usage = parse_usage(chunk.get("usage"))
        if usage is not None:
            self.answer.usage = usage
        if isinstance(chunk.get("timings"), dict):
            self.answer.timings = parse_timings(chunk["timings"])
        for choice in chunk.get("choices") or []:
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                self._add_choice(choice)

    def _add_choice(self, choice: dict[str, Any]) -> None:
        if choice.get("finish_reason"):
            self.answer.finish_reason = choice["finish_reason"]
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            # ``completions`` streams carry ``text`` instead of a delta.
            text = choice.get("text")
            if isinstance(text, str) and text:
                self._first_token()
                self._text.append(text)
            return
        content = delta.get("content")
        if isinstance(content, str) and content:
            self._first_token()
            self._text.append(content)
        for part in delta.get("tool_calls") or []:
            if isinstance(part, dict):
                self._first_token()
                self._add_tool_delta(part)

    def _add_tool_delta(self, part: dict[str, Any]) -> None:
        slot = self._calls.setdefault(
            int(part.get("index", len(self._calls))), {"id": "", "name": "", "arguments": ""}
        )
        if part.get("id"):
            slot["id"] = str(part["id"])
        function = part.get("function") or {}
        slot["name"] += str(function.get("name") or "")
        arguments = function.get("arguments")
        if arguments is not None:
            slot["arguments"] += arguments if isinstance(arguments, str) else json.dumps(arguments)

    def _first_token(self) -> None:
        if self.ttft_s is None:
            self.ttft_s = time.perf_counter() - self.started

    def result(self) -> Answer:
        """The reassembled answer."""
        self.answer.text = "".join(self._text)
        self.answer.tool_calls = [
            make_tool_call(slot["id"], slot["name"], slot["arguments"], self.offered)
            for _, slot in sorted(self._calls.items())
        ]
        return self.answer
