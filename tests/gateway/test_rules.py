"""Gateway rules checked against a scripted OpenAI-protocol server: tool-call flags,
limits, secrets, streaming without buffering."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx

from benchlab.gateway import Gateway, Limits
from tests.engine.requests import READ_TOOL, short_request
from tests.gateway.fake_openai import Script

KEY = "sk-test-" + "S3CRET" * 4

TOOL_ANSWER: dict[str, Any] = {
    "id": "x",
    "object": "chat.completion",
    "model": "provider-model",
    "choices": [
        {
            "index": 0,
            "finish_reason": "tool_calls",
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "a", "type": "function",
                     "function": {"name": "read", "arguments": "{\"path\": \"x\"}"}},
                    {"id": "b", "type": "function",
                     "function": {"name": "delete_everything", "arguments": "{}"}},
                    {"id": "c", "type": "function",
                     "function": {"name": "read", "arguments": "{path: x"}},
                    {"id": "d", "type": "function",
                     "function": {"name": "read", "arguments": "[1, 2]"}},
                ],
            },
        }
    ],
    "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
}  # fmt: skip


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _open(gateway: Gateway, upstream: str, limits: Limits | None = None) -> tuple[str, str]:
    trial = uuid.uuid4().hex[:8]
    return trial, gateway.open_route(trial, upstream, "provider-model", api_key=KEY, limits=limits)


def _tool_request() -> dict[str, Any]:
    return short_request("go", tools=[READ_TOOL])


def test_tool_call_flags(gateway: Gateway, fake: tuple[str, Script]) -> None:
    upstream, script = fake
    script.body = TOOL_ANSWER
    trial, url = _open(gateway, upstream)
    httpx.post(f"{url}/chat/completions", json=_tool_request(), timeout=30)
    [call] = gateway.close_route(trial)
    flags = [(t.id, t.name, t.offered, t.valid_json) for t in call.tool_calls]
    assert flags == [
        ("a", "read", True, True),
        ("b", "delete_everything", False, True),
        ("c", "read", True, False),
        ("d", "read", True, False),  # valid JSON, but not an object
    ]
    assert call.finish_reason == "tool_calls" and call.response_text == ""
    assert (call.usage.prompt_tokens, call.usage.completion_tokens) == (11, 7)


def test_streamed_tool_call_deltas_are_reassembled(
    gateway: Gateway, fake: tuple[str, Script]
) -> None:
    upstream, script = fake
    script.chunks = [
        _chunk({"role": "assistant", "content": None}),
        _chunk({"tool_calls": [{"index": 0, "id": "a", "type": "function",
                                "function": {"name": "read", "arguments": "{\"pa"}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": "th\": 1}"}}]}),
        _chunk({"tool_calls": [{"index": 1, "id": "b", "type": "function",
                                "function": {"name": "nope", "arguments": "{oops"}}]}),
        _chunk({}, "tool_calls"),
        {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 9}},
    ]  # fmt: skip
    trial, url = _open(gateway, upstream)
    with httpx.stream(
        "POST", f"{url}/chat/completions", json={**_tool_request(), "stream": True}
    ) as answer:
        lines = [line for line in answer.iter_lines() if line.startswith("data: ")]
    [call] = gateway.close_route(trial)
    flags = [(t.id, t.name, t.arguments, t.offered, t.valid_json) for t in call.tool_calls]
    assert flags == [("a", "read", '{"path": 1}', True, True), ("b", "nope", "{oops", False, False)]
    assert call.usage.completion_tokens == 9 and call.ttft_s is not None
    # The gateway asked upstream for usage, and kept the extra chunk from the client.
    assert script.seen[-1][1]["stream_options"] == {"include_usage": True}
    assert len(lines) == 6 and lines[-1] == "data: [DONE]"


def test_stream_is_not_buffered(gateway: Gateway, fake: tuple[str, Script]) -> None:
    upstream, script = fake
    script.chunks = [_chunk({"content": f"t{i} "}) for i in range(5)]
    script.pause_s = 0.3
    trial, url = _open(gateway, upstream)
    arrivals: list[float] = []
    started = time.perf_counter()
    body = short_request(stream=True)
    with httpx.stream("POST", f"{url}/chat/completions", json=body, timeout=30) as answer:
        for line in answer.iter_lines():
            if line.startswith("data: {"):
                arrivals.append(time.perf_counter() - started)
    [call] = gateway.close_route(trial)
    assert arrivals[0] < 0.25 and arrivals[-1] > 1.1  # each chunk as it was written
    assert call.ttft_s is not None and call.ttft_s < 0.25
    assert call.response_text == "t0 t1 t2 t3 t4 "


def test_max_turns_refuses_further_calls(gateway: Gateway, fake: tuple[str, Script]) -> None:
    upstream, script = fake
    script.body = TOOL_ANSWER
    trial, url = _open(gateway, upstream, Limits(max_turns=2))
    codes = [
        httpx.post(f"{url}/chat/completions", json=short_request(), timeout=30).status_code
        for _ in range(3)
    ]
    refused = httpx.post(f"{url}/chat/completions", json=short_request(), timeout=30)
    assert gateway.recorder(trial).stopped_by == "max_turns"
    calls = gateway.close_route(trial)
    assert codes == [200, 200, 400]
    assert "max_turns=2" in refused.json()["error"]["message"]
    assert [c.stopped_by for c in calls] == [None, None, "max_turns", "max_turns"]
    assert len(script.seen) == 2  # refused calls never reach the upstream


def test_max_output_tokens_refuses_once_spent(gateway: Gateway, fake: tuple[str, Script]) -> None:
    upstream, script = fake
    script.body = TOOL_ANSWER  # 7 completion tokens each
    trial, url = _open(gateway, upstream, Limits(max_output_tokens=10))
    codes = [
        httpx.post(f"{url}/chat/completions", json=short_request(), timeout=30).status_code
        for _ in range(3)
    ]
    calls = gateway.close_route(trial)
    assert codes == [200, 200, 400]
    assert calls[2].stopped_by == "max_output_tokens" and calls[2].status_code == 400


def test_max_tokens_capped_at_what_is_left(gateway: Gateway, fake: tuple[str, Script]) -> None:
    upstream, script = fake
    script.body = TOOL_ANSWER  # 7 completion tokens each
    trial, url = _open(gateway, upstream, Limits(max_output_tokens=10))
    first = {**short_request(), "max_tokens": 500}
    httpx.post(f"{url}/chat/completions", json=first, timeout=30)
    second = {k: v for k, v in short_request().items() if k != "max_tokens"}
    httpx.post(f"{url}/chat/completions", json=second, timeout=30)
    calls = gateway.close_route(trial)
    sent = [body for _, body in script.seen]
    assert [b["max_tokens"] for b in sent] == [10, 3]
    # The record keeps what the agent asked for.
    assert calls[0].request["max_tokens"] == 500 and "max_tokens" not in calls[1].request


def test_api_key_goes_upstream_and_never_into_records(
    gateway: Gateway, fake: tuple[str, Script]
) -> None:
    upstream, script = fake
    script.body = TOOL_ANSWER
    trial, url = _open(gateway, upstream)
    agent_headers = {"authorization": "Bearer agent-dummy"}
    httpx.post(f"{url}/chat/completions", json=short_request(), headers=agent_headers)
    script.status, script.echo_auth = 401, True  # an upstream that echoes the key back
    failed = httpx.post(f"{url}/chat/completions", json=short_request(), headers=agent_headers)
    calls = gateway.close_route(trial)
    assert [headers["authorization"] for headers, _ in script.seen] == [f"Bearer {KEY}"] * 2
    assert failed.status_code == 401
    assert calls[1].status_code == 401 and calls[1].error
    recorded = json.dumps([c.model_dump(mode="json") for c in calls])
    assert KEY not in recorded and "S3CRET" not in recorded


def test_bad_request_body_is_recorded(gateway: Gateway, fake: tuple[str, Script]) -> None:
    upstream, _ = fake
    trial, url = _open(gateway, upstream)
    answer = httpx.post(f"{url}/chat/completions", content=b"not json")
    [call] = gateway.close_route(trial)
    assert answer.status_code == 400 and call.status_code == 400 and call.error


def test_client_disconnect_mid_stream_is_recorded(
    gateway: Gateway, fake: tuple[str, Script]
) -> None:
    upstream, script = fake
    script.chunks = [_chunk({"content": f"t{i} "}) for i in range(6)]
    script.pause_s = 0.3
    trial, url = _open(gateway, upstream)
    body = short_request(stream=True)
    with httpx.stream("POST", f"{url}/chat/completions", json=body, timeout=30) as answer:
        for line in answer.iter_lines():
            if line.startswith("data: {"):
                break  # the agent goes away after the first chunk
    [call] = gateway.close_route(trial, wait_s=5)
    assert call.error == "client disconnected"
    assert call.response_text.startswith("t0 ") and call.response_text != "t0 t1 t2 t3 t4 t5 "
