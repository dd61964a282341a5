"""Chat requests the tests send to the small model."""

from __future__ import annotations

from typing import Any

READ_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "read",
        "description": "Read a file",
        "parameters": {
            "type": "object",
            "properties": {"path": {"type": "string"}},
            "required": ["path"],
        },
    },
}


def _read_call(call_id: str, path: str) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": "read", "arguments": f'{{"path": "{path}"}}'},
            }
        ],
    }


def few_shot_tool_request(model: str = "any") -> dict[str, Any]:
    """A request the 270M base model answers with a ``read`` tool call at temperature 0.

    Two earlier turns show the pattern; a base model this small copies it reliably,
    which is all the protocol tests need.
    """
    return {
        "model": model,
        "max_tokens": 40,
        "temperature": 0,
        "tools": [READ_TOOL],
        "messages": [
            {"role": "user", "content": "Read the file a.txt"},
            _read_call("c1", "a.txt"),
            {"role": "tool", "tool_call_id": "c1", "content": "hello"},
            {"role": "user", "content": "Read the file b.txt"},
            _read_call("c2", "b.txt"),
            {"role": "tool", "tool_call_id": "c2", "content": "world"},
            {"role": "user", "content": "Read the file README.md"},
        ],
    }


def short_request(text: str = "Say hi", max_tokens: int = 8, **extra: Any) -> dict[str, Any]:
    """A tiny chat request: few prompt tokens, few output tokens."""
    return {
        "model": "any",
        "max_tokens": max_tokens,
        "temperature": 0,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }
