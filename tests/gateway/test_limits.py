"""Wall-time limit and loop detection, against a scripted OpenAI-protocol server."""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any

import httpx

from benchlab.gateway import Gateway, Limits
from tests.engine.requests import READ_TOOL, short_request
from tests.gateway.fake_openai import Script


def _answer(*calls: tuple[str, str]) -> dict[str, Any]:
    tool_calls = [
        {"id": f"c{n}", "type": "function", "function": {"name": name, "arguments": args}}
        for n, (name, args) in enumerate(calls)
    ]
    message: dict[str, Any] = {"role": "assistant", "content": "ok" if not calls else None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2},
    }


def _open(gateway: Gateway, upstream: str, limits: Limits | None = None) -> tuple[str, str]:
    trial = uuid.uuid4().hex[:8]
    return trial, gateway.open_route(trial, upstream, "m", limits=limits)


def test_wall_time_refuses_later_calls(gateway: Gateway, fake: tuple[str, Script]) -> None:
    upstream, script = fake
    script.body = _answer()
    trial, url = _open(gateway, upstream, Limits(max_wall_s=0.5))
    first = httpx.post(f"{url}/chat/completions", json=short_request(), timeout=30)
    time.sleep(0.6)
    late = httpx.post(f"{url}/chat/completions", json=short_request(), timeout=30)
    assert gateway.recorder(trial).stopped_by == "wall_time"
    calls = gateway.close_route(trial)
    assert (first.status_code, late.status_code) == (200, 400)
    assert late.json()["error"]["code"] == "benchlab_limit_reached"
    assert "max_wall_s=0.5" in late.json()["error"]["message"]
    assert [c.stopped_by for c in calls] == [None, "wall_time"]
    assert len(script.seen) == 1  # the refused call never reached the upstream


def test_repeated_identical_tool_calls_are_counted(
    gateway: Gateway, fake: tuple[str, Script]
) -> None:
    upstream, script = fake
    read_x = ("read", '{"path": "x"}')
    answers = [
        _answer(read_x),
        _answer(("read", '{ "path":"x" }')),  # the same arguments, spaced differently
        _answer(read_x),
        _answer(("read", '{"path": "y"}')),
        _answer(("read", '{"path": "y"}')),
        _answer(),  # plain text ends the run
        _answer(("read", '{"path": "y"}')),
    ]
    trial, url = _open(gateway, upstream)
    for answer in answers:
        script.body = copy.deepcopy(answer)
        body = short_request(tools=[READ_TOOL])
        assert httpx.post(f"{url}/chat/completions", json=body, timeout=30).status_code == 200
    calls = gateway.close_route(trial)
    assert [c.repeated_tool_calls for c in calls] == [0, 1, 2, 0, 1, 0, 0]
