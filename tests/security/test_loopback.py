"""Every server benchlab starts listens on loopback only, as the kernel reports its
sockets (not as the code asks); and the gateway answers only routes of running trials.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from benchlab.engine import LlamaServer
from benchlab.gateway import Gateway
from benchlab.services.process import free_port
from benchlab.services.s3 import LocalS3Server
from benchlab.settings import Settings
from tests.security.provider_double import KeyCheckingProvider

LOOPBACK = {"127.0.0.1", "::1"}


def listening(pid: int) -> list[tuple[str, int]]:
    """``(address, port)`` of every listening TCP socket of ``pid`` and its descendants."""
    leader = psutil.Process(pid)
    found = []
    for proc in [leader, *leader.children(recursive=True)]:
        try:
            sockets = proc.net_connections(kind="tcp")
        except psutil.NoSuchProcess:
            continue
        found += [
            (s.laddr.ip, s.laddr.port)
            for s in sockets
            if s.status == psutil.CONN_LISTEN and s.laddr
        ]
    return found


def test_gateway_listens_on_loopback_only() -> None:
    with Gateway() as gateway:
        # The gateway serves from a thread of this process: its own sockets are this pid's.
        own = [(ip, port) for ip, port in listening(os.getpid()) if port == gateway.port]
    assert own == [("127.0.0.1", gateway.port)]


def test_s3_server_listens_on_loopback_only(tmp_path: Path) -> None:
    with LocalS3Server(tmp_path / "s3") as server:
        assert server.pid is not None and server.port is not None
        sockets = listening(server.pid)
    assert ("127.0.0.1", server.port) in sockets
    # weed mini runs master, volume, filer, S3 and admin, each with HTTP and gRPC ports.
    assert len(sockets) >= 5
    assert {ip for ip, _ in sockets} <= LOOPBACK, sockets


def test_llama_server_listens_on_loopback_only(llama_server: LlamaServer) -> None:
    sockets = listening(llama_server.pid)
    assert ("127.0.0.1", llama_server.port) in sockets
    assert {ip for ip, _ in sockets} <= LOOPBACK, sockets


@pytest.mark.docker
def test_docker_llama_server_listens_on_loopback_only(
    llama_image: str, gguf_path: Path, tmp_path: Path
) -> None:
    from benchlab.config.models import EngineConfig
    from benchlab.engine import TOOLS_TEMPLATE
    from benchlab.engine.docker_server import DockerLlamaServer

    server = DockerLlamaServer(
        gguf_path,
        alias="probe",
        engine=EngineConfig(parallel=1, threads=2, ctx_size=2048),
        model_context_size=2048,
        chat_template_file=TOOLS_TEMPLATE,
        log_path=tmp_path / "llama.log",
        image=llama_image,
    )
    with server:
        # The container shares the host's network: its server's socket is the host's
        # to see, and so is the process that owns it.
        owners = {
            c.pid
            for c in psutil.net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == server.port and c.pid
        }
        assert len(owners) == 1, owners
        sockets = listening(owners.pop())
    assert ("127.0.0.1", server.port) in sockets
    assert {ip for ip, _ in sockets} <= LOOPBACK, sockets


@pytest.mark.slow
def test_ui_servers_listen_on_loopback_only(tmp_path: Path) -> None:
    try:
        from benchlab.services.ui import UiServers, mlflow_server, prefect_server
    except ImportError as exc:
        pytest.skip(f"the UI servers are not available: {exc}")
    settings = Settings(data_dir=tmp_path / "data")
    servers = [
        prefect_server(settings, "127.0.0.1", free_port("127.0.0.1")),
        mlflow_server(settings, "127.0.0.1", free_port("127.0.0.1")),
    ]
    with UiServers(servers) as started:
        sockets = {server.name: listening(server.process.pid) for server in started}
    for name, found in sockets.items():
        assert found, f"{name} listens nowhere"
        assert {ip for ip, _ in found} <= LOOPBACK, (name, found)


@pytest.fixture
def provider() -> Iterator[KeyCheckingProvider]:
    """An upstream that counts the requests it gets."""
    with KeyCheckingProvider() as double:
        yield double


def _chat(url: str) -> httpx.Response:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    return httpx.post(f"{url}/chat/completions", json=body, timeout=30)


def _refused(answer: httpx.Response, trial_id: str) -> None:
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/json")
    error = answer.json()["error"]
    assert error["message"] == f"benchlab gateway: no open route for trial {trial_id!r}"
    assert error["code"] == "not_found"


def test_gateway_refuses_trials_that_are_not_running(provider: KeyCheckingProvider) -> None:
    with Gateway() as gateway:
        never = f"{gateway.base_url}/t/never-opened/v1"
        _refused(_chat(never), "never-opened")
        _refused(httpx.get(f"{never}/models", timeout=30), "never-opened")

        route = gateway.open_route(
            "running", upstream_base_url=provider.base_url, model_alias="m", api_key="k"
        )
        assert _chat(route).status_code == 200
        assert len(provider.keys) == 1
        calls = gateway.close_route("running")
        assert len(calls) == 1

        # Closed: refused in the gateway's own words, and nothing reaches the upstream.
        _refused(_chat(route), "running")
        _refused(httpx.get(f"{route}/models", timeout=30), "running")
        assert len(provider.keys) == 1
