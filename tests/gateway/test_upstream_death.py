"""A real llama-server behind the gateway: loops seen, and a server killed mid-stream."""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

import openai
import pytest

from benchlab.config.models import EngineConfig
from benchlab.engine import TOOLS_TEMPLATE, LlamaServer
from benchlab.gateway import Gateway
from tests.engine.requests import few_shot_tool_request
from tests.fixtures.llama import MODEL_ALIAS


def test_same_tool_call_answered_three_times_is_flagged(
    gateway: Gateway, llama_server: LlamaServer
) -> None:
    trial = uuid.uuid4().hex[:8]
    url = gateway.open_route(trial, llama_server.openai_base_url, MODEL_ALIAS)
    client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
    for stream in (False, True, False):
        answer = client.chat.completions.create(**few_shot_tool_request(), stream=stream)
        if stream:
            list(answer)
    calls = gateway.close_route(trial)
    assert [c.tool_calls[0].name for c in calls] == ["read"] * 3
    assert [c.repeated_tool_calls for c in calls] == [0, 1, 2]


def test_server_killed_mid_stream(
    gateway: Gateway, llama_binary: Path, gguf_path: Path, tmp_path: Path
) -> None:
    server = LlamaServer(
        llama_binary,
        gguf_path,
        alias=MODEL_ALIAS,
        engine=EngineConfig(ctx_size=1024, parallel=1, threads=1, threads_batch=2),
        model_context_size=1024,
        chat_template_file=TOOLS_TEMPLATE,
        log_path=tmp_path / "server.log",
    )
    with server:
        trial = uuid.uuid4().hex[:8]
        url = gateway.open_route(trial, server.openai_base_url, MODEL_ALIAS)
        client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
        stream = client.chat.completions.create(
            model="any",
            messages=[{"role": "user", "content": "Tell a long story."}],
            max_tokens=400,
            stream=True,
            extra_body={"ignore_eos": True},
        )
        received = 0
        with pytest.raises(openai.APIError, match="upstream stream broke"):
            for _chunk in stream:
                received += 1
                if received == 3:
                    os.kill(server.pid, signal.SIGKILL)
        assert not server.alive()
        [call] = gateway.close_route(trial)
    assert 3 <= received < 400
    assert call.error is not None and call.error.startswith("upstream stream broke")
    assert call.stream and call.ttft_s is not None and call.usage.completion_tokens == 0
