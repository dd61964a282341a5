"""The gateway in front of a real llama-server: recording, streaming, tools, trials."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from benchlab.engine import LlamaServer
from benchlab.gateway import Gateway
from benchlab.results import ModelCall
from tests.engine.requests import few_shot_tool_request, short_request
from tests.fixtures.llama import MODEL_ALIAS


def _route(gateway: Gateway, server: LlamaServer) -> tuple[str, str]:
    trial = uuid.uuid4().hex[:8]
    return trial, gateway.open_route(trial, server.openai_base_url, MODEL_ALIAS)


def _stream(url: str, body: dict[str, Any]) -> tuple[list[dict[str, Any]], list[float], float]:
    """Stream a chat call; returns the chunks, their arrival times, and the total time."""
    chunks: list[dict[str, Any]] = []
    times: list[float] = []
    started = time.perf_counter()
    with httpx.stream("POST", f"{url}/chat/completions", json=body, timeout=300) as answer:
        assert answer.status_code == 200
        for line in answer.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                chunks.append(json.loads(line[6:]))
                times.append(time.perf_counter() - started)
    return chunks, times, time.perf_counter() - started


def _text(chunks: list[dict[str, Any]]) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices")
    )


def test_plain_call_is_recorded_as_the_server_answered(
    gateway: Gateway, llama_server: LlamaServer
) -> None:
    trial, url = _route(gateway, llama_server)
    body = short_request("Count: one, two,", max_tokens=6, model="whatever-the-agent-says")
    via_gateway = httpx.post(f"{url}/chat/completions", json=body, timeout=300).json()
    direct = httpx.post(
        f"{llama_server.openai_base_url}/chat/completions", json=body, timeout=300
    ).json()
    [call] = gateway.close_route(trial)

    assert call.index == 0 and call.endpoint == "chat/completions" and not call.stream
    assert call.model == "whatever-the-agent-says"
    assert call.request == body
    assert via_gateway["model"] == MODEL_ALIAS  # the upstream got the route's alias
    assert call.response_text == via_gateway["choices"][0]["message"]["content"]
    assert call.finish_reason == via_gateway["choices"][0]["finish_reason"]
    usage = via_gateway["usage"]
    assert call.usage.prompt_tokens == usage["prompt_tokens"] == direct["usage"]["prompt_tokens"]
    assert call.usage.completion_tokens == usage["completion_tokens"] == 6
    assert call.usage.cached_tokens == usage["prompt_tokens_details"]["cached_tokens"]
    assert call.timings == via_gateway["timings"]
    assert call.status_code == 200 and call.error is None and call.ttft_s is None
    assert call.start_ns < call.end_ns


def test_stream_passes_through_incrementally(gateway: Gateway, llama_server: LlamaServer) -> None:
    trial, url = _route(gateway, llama_server)
    body = short_request(
        "Write a story about a cat.",
        max_tokens=24,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks, times, total = _stream(url, body)
    [call] = gateway.close_route(trial)

    first_content = next(
        t for c, t in zip(chunks, times, strict=True) if c.get("choices") and _text([c])
    )
    # Tokens arrive as they are generated: the first long before the last.
    assert first_content < 0.8 * times[-1]
    assert len(chunks) > 10
    assert call.stream and call.ttft_s is not None
    assert 0 < call.ttft_s < (call.end_ns - call.start_ns) / 1e9 <= total
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == []  # the client asked for it, so it is forwarded
    assert call.usage.prompt_tokens == usage_chunk["usage"]["prompt_tokens"]
    assert call.usage.completion_tokens == usage_chunk["usage"]["completion_tokens"] == 24
    assert call.timings["predicted_n"] == 24
    assert call.response_text == _text(chunks)
    assert call.finish_reason == "length"


def test_stream_usage_is_recorded_but_not_forwarded_unasked(
    gateway: Gateway, llama_server: LlamaServer
) -> None:
    trial, url = _route(gateway, llama_server)
    chunks, _, _ = _stream(url, short_request("Hello", max_tokens=4, stream=True))
    [call] = gateway.close_route(trial)

    assert all(c["choices"] for c in chunks)  # no usage-only chunk reached the client
    assert "stream_options" not in call.request
    assert call.usage.completion_tokens == 4 and call.usage.prompt_tokens > 0
    assert call.timings["predicted_n"] == 4


def test_back_to_back_streams_survive_upstream_closing_the_connection(
    gateway: Gateway, llama_server: LlamaServer
) -> None:
    """llama-server closes its side of a keep-alive connection after every stream;
    the gateway's next call on that connection must not fail (it did, without the retry)."""
    trial, url = _route(gateway, llama_server)
    body = short_request("Hi", max_tokens=2, stream=True)
    with httpx.Client(timeout=300) as client:
        for n in range(12):
            # Alternate with plain calls: those are what hit the closed connection.
            if n % 2:
                client.post(f"{url}/chat/completions", json={**body, "stream": False})
            else:
                with client.stream("POST", f"{url}/chat/completions", json=body) as answer:
                    answer.read()
    calls = gateway.close_route(trial)
    assert [(c.status_code, c.error) for c in calls] == [(200, None)] * 12


def test_model_tool_calls_are_recorded(gateway: Gateway, llama_server: LlamaServer) -> None:
    trial, url = _route(gateway, llama_server)
    plain = httpx.post(f"{url}/chat/completions", json=few_shot_tool_request(), timeout=300)
    assert plain.status_code == 200
    chunks, _, _ = _stream(url, {**few_shot_tool_request(), "stream": True})
    calls = gateway.close_route(trial)

    assert [c.stream for c in calls] == [False, True]
    for call in calls:
        [tool] = call.tool_calls
        assert (tool.name, tool.offered, tool.valid_json) == ("read", True, True)
        assert json.loads(tool.arguments) == {"path": "README.md"}
        assert tool.id
    assert calls[0].tool_calls[0].id == plain.json()["choices"][0]["message"]["tool_calls"][0]["id"]
    assert any(c["choices"][0]["delta"].get("tool_calls") for c in chunks if c["choices"])


def test_concurrent_trials_stay_apart(gateway: Gateway, llama_server: LlamaServer) -> None:
    routes = [_route(gateway, llama_server) for _ in range(2)]

    def agent(url: str, marker: str) -> None:
        for n in range(2):
            body = short_request(f"{marker} {n}", max_tokens=3, stream=n == 1)
            with httpx.stream("POST", f"{url}/chat/completions", json=body, timeout=300) as a:
                a.read()

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(agent, [url for _, url in routes], ["alpha", "beta"]))
    recorded: dict[str, list[ModelCall]] = {
        marker: gateway.close_route(trial)
        for (trial, _), marker in zip(routes, ["alpha", "beta"], strict=True)
    }
    for marker, calls in recorded.items():
        assert [c.index for c in calls] == [0, 1]
        assert [c.request["messages"][0]["content"] for c in calls] == [
            f"{marker} 0",
            f"{marker} 1",
        ]
        assert all(c.usage.completion_tokens == 3 for c in calls)


def test_unknown_trial_and_models_route(gateway: Gateway, llama_server: LlamaServer) -> None:
    missing = httpx.post(f"{gateway.base_url}/t/nope/v1/chat/completions", json=short_request())
    assert missing.status_code == 404
    assert "nope" in missing.json()["error"]["message"]
    assert httpx.get(f"{gateway.base_url}/elsewhere").status_code == 404

    trial, url = _route(gateway, llama_server)
    models = httpx.get(f"{url}/models").json()
    assert [m["id"] for m in models["data"]] == [MODEL_ALIAS]
    assert gateway.close_route(trial) == []
    assert httpx.get(f"{url}/models").status_code == 404


def test_completions_endpoint(gateway: Gateway, llama_server: LlamaServer) -> None:
    trial, url = _route(gateway, llama_server)
    body = {"model": "x", "prompt": "One, two,", "max_tokens": 3, "temperature": 0}
    answer = httpx.post(f"{url}/completions", json=body, timeout=300).json()
    [call] = gateway.close_route(trial)
    assert call.endpoint == "completions"
    assert call.response_text == answer["choices"][0]["text"]
    assert call.usage.completion_tokens == answer["usage"]["completion_tokens"] == 3


def test_dead_upstream_is_a_recorded_502(gateway: Gateway) -> None:
    trial = "dead-" + uuid.uuid4().hex[:6]
    url = gateway.open_route(trial, "http://127.0.0.1:9/v1", "m")
    answer = httpx.post(f"{url}/chat/completions", json=short_request(), timeout=30)
    [call] = gateway.close_route(trial)
    assert answer.status_code == 502 and "error" in answer.json()
    assert call.status_code == 502 and call.error and "ConnectError" in call.error
