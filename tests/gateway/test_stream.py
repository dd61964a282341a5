"""SSE splitting: events come out whole however the bytes were cut."""

from __future__ import annotations

from benchlab.gateway.stream import EventSplitter, event_data, is_usage_only

STREAM = (
    b'data: {"choices": [{"index": 0, "delta": {"content": "a"}}]}\n\n'
    b": keep-alive comment\r\n\r\n"
    b'data: {"choices": [], "usage": {"prompt_tokens": 1}}\n\n'
    b"data: [DONE]\n\n"
)


def test_events_survive_any_cut() -> None:
    expected = list(EventSplitter().feed(STREAM))
    assert len(expected) == 4
    for size in (1, 2, 7, 50):
        splitter = EventSplitter()
        events = [
            e for i in range(0, len(STREAM), size) for e in splitter.feed(STREAM[i : i + size])
        ]
        assert events == expected and splitter.rest() == b""
    assert b"".join(expected) == STREAM


def test_event_payloads() -> None:
    first, comment, usage, done = EventSplitter().feed(STREAM)
    assert event_data(first)["choices"][0]["delta"] == {"content": "a"}
    assert event_data(comment) is None and event_data(done) is None
    assert is_usage_only(event_data(usage)) and not is_usage_only(event_data(first))
