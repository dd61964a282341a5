"""llama-server in a container: start-up, answers, probe, measurements, failures, cleanup.

Runs the small real model on ``benchlab/llama-server:cpu-local`` (this host's binary on
the debootstrap base), so it needs a docker daemon and, the first time, a few minutes
to build the images.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from docker.client import DockerClient
from docker.types import DeviceRequest

from benchlab.config.models import EngineConfig
from benchlab.engine import TOOLS_TEMPLATE, LlamaServer, ProbeSettings, run_probe
from benchlab.engine.docker_server import LABEL, DockerLlamaServer, device_options
from benchlab.engine.launcher import EngineLauncher
from benchlab.errors import EngineError
from benchlab.images import build_images

pytestmark = pytest.mark.docker


def _server(image: str, gguf: Path, log: Path, **engine: object) -> DockerLlamaServer:
    return DockerLlamaServer(
        gguf,
        alias="probe",
        engine=EngineConfig.model_validate({"parallel": 1, **engine}),
        model_context_size=2048,
        chat_template_file=TOOLS_TEMPLATE,
        log_path=log,
        image=image,
        start_timeout_s=120,
    )


def _containers(client: DockerClient, name: str) -> list[object]:
    return list(client.containers.list(all=True, filters={"name": name}))


def test_both_launchers_satisfy_the_protocol(tmp_path: Path, gguf_path: Path) -> None:
    native = LlamaServer(
        Path("/bin/llama-server"),
        gguf_path,
        alias="m",
        engine=EngineConfig(),
        model_context_size=2048,
        log_path=tmp_path / "log",
    )
    container = _server("unused:tag", gguf_path, tmp_path / "log")
    assert isinstance(native, EngineLauncher)
    assert isinstance(container, EngineLauncher)


def test_serves_probes_measures_and_detects_death(
    llama_image: str, gguf_path: Path, tmp_path: Path, docker_client: DockerClient
) -> None:
    log = tmp_path / "server.log"
    server = _server(llama_image, gguf_path, log)
    with server:
        assert httpx.get(f"{server.base_url}/health", timeout=5).is_success
        assert server.load_time_s is not None and 0 < server.load_time_s < 120
        assert server.build_info and server.build_info == server.props["build_info"]
        (container,) = _containers(docker_client, server.name)
        assert container.labels[LABEL] == "engine"  # type: ignore[attr-defined]
        answer = httpx.post(
            f"{server.openai_base_url}/chat/completions",
            json={
                "model": "probe",
                "messages": [{"role": "user", "content": "Say hello."}],
                "max_tokens": 8,
            },
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["usage"]["completion_tokens"] >= 1
        settings = ProbeSettings(prompt_tokens=32, gen_tokens=4, repeats=2, warmup=False)
        result = run_probe(server.base_url, settings)
        assert result.pp_tokens_per_s.mean > 0 and result.tg_tokens_per_s.mean > 0
        server.check_alive()
        container.kill()  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10
        while server.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        with pytest.raises(EngineError, match=r"killed by SIGKILL .*exit code 137"):
            server.check_alive()
    stats = server.stats
    assert stats is not None
    assert stats.exit_code == 137
    assert stats.build_info == server.build_info
    # The working set of a 270M model server: more than nothing, less than the host.
    assert 16 << 20 < stats.peak_rss_bytes < 8 << 30
    assert stats.peak_vram_bytes is None  # no GPU tool on this host
    assert not _containers(docker_client, server.name)
    assert "HTTP server" in log.read_text() or "listening" in log.read_text()


def test_container_removed_when_the_block_is_interrupted(
    llama_image: str, gguf_path: Path, tmp_path: Path, docker_client: DockerClient
) -> None:
    server = _server(llama_image, gguf_path, tmp_path / "server.log")
    with pytest.raises(KeyboardInterrupt), server:
        assert _containers(docker_client, server.name)
        raise KeyboardInterrupt
    assert not _containers(docker_client, server.name)
    assert server.stats is not None and server.stats.exit_code == 0
    assert (tmp_path / "server.log").stat().st_size > 0


def test_bad_flag_fails_fast_with_log_lines(
    llama_image: str, gguf_path: Path, tmp_path: Path, docker_client: DockerClient
) -> None:
    server = _server(llama_image, gguf_path, tmp_path / "server.log", extra_args=["--no-such-flag"])
    started = time.monotonic()
    with pytest.raises(EngineError, match="exited with code") as caught:
        server.start()
    assert time.monotonic() - started < 30
    assert "--no-such-flag" in str(caught.value)
    assert not _containers(docker_client, server.name)
    assert "--no-such-flag" in (tmp_path / "server.log").read_text()


def test_missing_image_is_an_engine_error(gguf_path: Path, tmp_path: Path) -> None:
    server = _server("benchlab/no-such-image:none", gguf_path, tmp_path / "server.log")
    with pytest.raises(EngineError, match="benchlab images build"):
        server.start()


@pytest.mark.parametrize("backend", ["cpu", "cuda", "rocm", "vulkan"])
def test_backend_devices_reach_the_container_config(
    backend: str, base_image: str, docker_client: DockerClient
) -> None:
    # Created, never started: the daemon records the devices without needing them here.
    container = docker_client.containers.create(
        base_image, ["true"], network_mode="none", **device_options(backend)
    )
    try:
        host = container.attrs["HostConfig"]
    finally:
        container.remove(force=True)
    devices = sorted(d["PathOnHost"] for d in host.get("Devices") or [])
    requests = host.get("DeviceRequests") or []
    expected = {
        "cpu": ([], [], None),
        "cuda": ([], [["gpu"]], None),
        "rocm": (["/dev/dri", "/dev/kfd"], [], ["video"]),
        "vulkan": (["/dev/dri"], [], None),
    }[backend]
    assert devices == expected[0]
    assert [r["Capabilities"] for r in requests] == ([expected[1]] if expected[1] else [])
    assert host.get("GroupAdd") == expected[2]
    assert all(
        isinstance(r, DeviceRequest) for r in device_options(backend).get("device_requests", [])
    )


def test_built_images_are_cached_by_tag_and_digest(llama_image: str, agent_image: str) -> None:
    started = time.monotonic()
    done = build_images()
    assert [(b.tag, b.built) for b in done][1:] == [(llama_image, False), (agent_image, False)]
    assert not done[0].built
    assert time.monotonic() - started < 10
