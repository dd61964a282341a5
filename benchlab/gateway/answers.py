"""Reading OpenAI-style answers: text, tool calls, usage, llama-server timings."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from benchlab.results import ToolCall, Usage


def offered_tool_names(request: dict[str, Any]) -> set[str]:
    """Names of the tools a request offers (``tools``, or the legacy ``functions``)."""
    names: set[str] = set()
    for tool in request.get("tools") or []:
        if isinstance(tool, dict):
            function = tool.get("function")
            if isinstance(function, dict) and isinstance(function.get("name"), str):
                names.add(function["name"])
    for function in request.get("functions") or []:
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            names.add(function["name"])
    return names


def is_json_object(text: str) -> bool:
    """Whether ``text`` parses as a JSON object (what tool arguments must be)."""
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def make_tool_call(call_id: str, name: str, arguments: Any, offered: set[str]) -> ToolCall:
    """A :class:`ToolCall` with its ``offered`` and ``valid_json`` flags set."""
    # Some providers send arguments as an object instead of a JSON string.
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCall(
        id=call_id,
        name=name,
        arguments=text,
        offered=name in offered,
        valid_json=is_json_object(text),
    )


def parse_usage(data: Any) -> Usage | None:
    """The ``usage`` object of an answer or chunk, if it has one."""
    if not isinstance(data, dict):
        return None
    details = data.get("prompt_tokens_details")
    cached = details.get("cached_tokens", 0) if isinstance(details, dict) else 0
    return Usage(
        prompt_tokens=int(data.get("prompt_tokens") or 0),
        completion_tokens=int(data.get("completion_tokens") or 0),
        cached_tokens=int(cached or 0),
    )


def parse_timings(data: Any) -> dict[str, float]:
    """llama-server's ``timings`` object, numeric fields only."""
    if not isinstance(data, dict):
        return {}
    return {
        key: float(value)
        for key, value in data.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def content_text(content: Any) -> str:
    """The text of a message ``content``: a string, or a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


@dataclass
class Answer:
    """What one call answered, reassembled from a body or a stream."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    timings: dict[str, float] = field(default_factory=dict)


def parse_answer(body: dict[str, Any], offered: set[str]) -> Answer:
    """Read a non-streamed ``chat/completions`` or ``completions`` answer."""
    answer = Answer()
    choices = body.get("choices") or []
    choice = choices[0] if choices and isinstance(choices[0], dict) else {}
    answer.finish_reason = choice.get("finish_reason")
    message = choice.get("message")
    if isinstance(message, dict):
        answer.text = content_text(message.get("content"))
        for call in message.get("tool_calls") or []:
            if not isinstance(call, dict):
                continue
            function = call.get("function") or {}
            answer.tool_calls.append(
                make_tool_call(
                    str(call.get("id") or ""),
                    str(function.get("name") or ""),
                    function.get("arguments", ""),
                    offered,
                )
            )
    elif isinstance(choice.get("text"), str):
        answer.text = choice["text"]
    answer.usage = parse_usage(body.get("usage")) or Usage()
    answer.timings = parse_timings(body.get("timings"))
    return answer
