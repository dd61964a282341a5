"""The docker sandbox: commands run in a container with the workspace, the host user's
uid, only the gateway on the network, and CPU, memory and process limits; nothing is
left running after the session, even when the docker client was killed.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import textwrap
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from docker.client import DockerClient

from benchlab.agents import AgentEndpoint, PiHarness
from benchlab.gateway import Gateway
from benchlab.sandbox.base import Command, Sandbox, SandboxSession
from benchlab.sandbox.docker import LABEL, DockerSandbox
from tests.agents.openai_double import Reply, ScriptedOpenAI

pytestmark = pytest.mark.docker


class _Digest(BaseHTTPRequestHandler):
    """Answers a POST with the size and sha256 of its body, so a relay's bytes can be checked."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        answer = json.dumps({"size": len(body), "sha256": hashlib.sha256(body).hexdigest()})
        self.send_response(200)
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer.encode())

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def loopback_server() -> Iterator[int]:
    """A real HTTP server on host loopback; its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Digest)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def _run(
    session: SandboxSession,
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    stdin: str = "",
) -> subprocess.CompletedProcess[str]:
    command = session.wrap(argv, cwd=cwd, env={"PATH": "/usr/bin:/bin", **(env or {})})
    return subprocess.run(
        command.argv,
        cwd=command.cwd,
        env=dict(command.env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _dirs(tmp_path: Path) -> tuple[Path, Path, Path]:
    dirs = tuple(tmp_path / name for name in ("trial", "workspace", "agent"))
    for path in dirs:
        path.mkdir()
    return dirs  # type: ignore[return-value]


def _left(client: DockerClient, session_id: str) -> list[object]:
    return list(client.containers.list(all=True, filters={"label": f"{LABEL}={session_id}"}))


def test_runs_in_a_container_with_the_workspace_as_the_host_user(
    agent_image: str, tmp_path: Path
) -> None:
    trial, workspace, agent = _dirs(tmp_path)
    (workspace / "input.txt").write_text("from the host\n")
    (agent / "tool.txt").write_text("read me\n")
    secret = "value-that-must-not-be-on-a-command-line"
    sandbox = DockerSandbox(agent_image, network="none")
    assert isinstance(sandbox, Sandbox) and "no network at all" in sandbox.isolation
    with sandbox.session(trial, workspace, readonly=[agent]) as session:
        assert isinstance(session, SandboxSession)
        command = session.wrap(["true"], cwd=workspace, env={"TOKEN": secret})
        assert isinstance(command, Command)
        assert secret not in " ".join(command.argv) and command.env["TOKEN"] == secret
        script = (
            "test -f /.dockerenv && echo in-container; id -u; id -g; pwd; cat input.txt; "
            'cat $AGENT/tool.txt; echo "$TOKEN"; read line; echo "stdin:$line"; '
            "echo written > made.txt; echo log > $TRIAL/trial.txt"
        )
        done = _run(
            session,
            ["bash", "-c", script],
            workspace,
            {"TOKEN": secret, "AGENT": str(agent), "TRIAL": str(trial)},
            stdin="hello\n",
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "in-container",
        str(os.getuid()),
        str(os.getgid()),
        str(workspace),
        "from the host",
        "read me",
        secret,
        "stdin:hello",
    ]
    made = workspace / "made.txt"
    assert made.read_text() == "written\n" and made.stat().st_uid == os.getuid()
    assert (trial / "trial.txt").read_text() == "log\n"


def test_cannot_write_outside_the_workspace(agent_image: str, tmp_path: Path) -> None:
    trial, workspace, agent = _dirs(tmp_path)
    unmounted = tmp_path / "elsewhere"
    unmounted.mkdir()
    sandbox = DockerSandbox(agent_image, network="none")
    with sandbox.session(trial, workspace, readonly=[agent]) as session:
        attempts = {
            "readonly mount": f"touch {agent}/x",
            "image root": "touch /etc/x",
            "unmounted host dir": f"ls {unmounted}",
        }
        results = {
            what: _run(session, ["sh", "-c", cmd], workspace) for what, cmd in attempts.items()
        }
        tmp_ok = _run(session, ["sh", "-c", "echo t > /tmp/t && cat /tmp/t"], workspace)
    for what, done in results.items():
        assert done.returncode != 0, what
    assert "Read-only file system" in results["readonly mount"].stderr
    assert "Read-only file system" in results["image root"].stderr
    assert "No such file" in results["unmounted host dir"].stderr
    assert not (agent / "x").exists()
    assert tmp_ok.stdout == "t\n"


def _reach(port: int, path: str = "/", data: bytes | None = None) -> str:
    return (
        "import urllib.request, urllib.error, json, hashlib, sys\n"
        f"req = urllib.request.Request('http://127.0.0.1:{port}{path}', data={data!r})\n"
        "try:\n"
        "    with urllib.request.urlopen(req, timeout=5) as r: print(r.status, r.read().decode())\n"
        "except urllib.error.HTTPError as e: print(e.code, e.read().decode())\n"
        "except OSError as e: print('unreachable', type(e).__name__); sys.exit(3)\n"
    )


def test_reaches_only_the_gateway(agent_image: str, tmp_path: Path, loopback_server: int) -> None:
    trial, workspace, _ = _dirs(tmp_path)
    with Gateway() as gateway:
        sandbox = DockerSandbox(agent_image, network="gateway", gateway_port=gateway.port)
        with sandbox.session(trial, workspace) as session:
            to_gateway = _run(
                session, ["python3", "-c", _reach(gateway.port, "/t/x/v1/models")], workspace
            )
            to_other = _run(session, ["python3", "-c", _reach(loopback_server)], workspace)
    # The gateway answers (404: no route for trial x) in its own words.
    assert to_gateway.returncode == 0, to_gateway.stderr
    assert to_gateway.stdout.startswith("404") and "benchlab gateway" in to_gateway.stdout
    assert to_other.returncode == 3 and "unreachable" in to_other.stdout
    # The same server is reachable from the host, so the container is what blocks it.
    with socket.create_connection(("127.0.0.1", loopback_server), timeout=5):
        pass


def test_relay_passes_large_bodies_intact(
    agent_image: str, tmp_path: Path, loopback_server: int
) -> None:
    trial, workspace, _ = _dirs(tmp_path)
    blob_script = (
        "import hashlib, json, os, urllib.request, sys\n"
        "blob = os.urandom(3 << 20)\n"
        f"req = urllib.request.Request('http://127.0.0.1:{loopback_server}/', data=blob)\n"
        "with urllib.request.urlopen(req, timeout=30) as r: got = json.load(r)\n"
        "assert got == {'size': len(blob), 'sha256': hashlib.sha256(blob).hexdigest()}, got\n"
        "print('intact')\n"
    )
    sandbox = DockerSandbox(agent_image, network="gateway", gateway_port=loopback_server)
    with sandbox.session(trial, workspace) as session:
        done = _run(session, ["python3", "-c", blob_script], workspace)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "intact\n"


def test_network_none_reaches_nothing(
    agent_image: str, tmp_path: Path, loopback_server: int
) -> None:
    trial, workspace, _ = _dirs(tmp_path)
    with DockerSandbox(agent_image, network="none").session(trial, workspace) as session:
        done = _run(session, ["python3", "-c", _reach(loopback_server)], workspace)
    assert done.returncode == 3


FORK_COUNT = textwrap.dedent(
    """
    import os, signal, time
    children = []
    try:
        while len(children) < 500:
            pid = os.fork()
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            children.append(pid)
    except OSError:
        pass
    print(len(children))
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    """
)


def test_limits_apply_and_nothing_is_left_after_a_killed_client(
    agent_image: str, tmp_path: Path, docker_client: DockerClient
) -> None:
    trial, workspace, _ = _dirs(tmp_path)
    sandbox = DockerSandbox(agent_image, network="none", cpus=1.5, memory="256m", pids_limit=64)
    with sandbox.session(trial, workspace) as session:
        forks = _run(session, ["python3", "-c", FORK_COUNT], workspace)
        hog = _run(session, ["python3", "-c", "b = b'x' * (600 << 20); print(len(b))"], workspace)
        command = session.wrap(["sleep", "300"], cwd=workspace, env={"PATH": "/usr/bin:/bin"})
        client = subprocess.Popen(command.argv, cwd=command.cwd, env=dict(command.env))
        name = command.argv[command.argv.index("--name") + 1]
        deadline = time.monotonic() + 60
        while not docker_client.containers.list(filters={"name": name}):
            assert time.monotonic() < deadline, "the container never started"
            time.sleep(0.2)
        client.send_signal(signal.SIGKILL)
        client.wait()
        container = docker_client.containers.get(name)
        host = container.attrs["HostConfig"]
        # Killing the client does not stop its container: the session has to.
        assert container.status == "running"
    assert forks.returncode == 0, forks.stderr
    # python, its children and the init process share the 64 slots.
    assert 10 < int(forks.stdout) < 64
    assert hog.returncode == 137  # killed by the memory cgroup
    assert host["NanoCpus"] == 1_500_000_000
    assert host["Memory"] == host["MemorySwap"] == 256 << 20
    assert host["PidsLimit"] == 64
    assert host["CapDrop"] == ["ALL"] and host["ReadonlyRootfs"] is True
    assert host["NetworkMode"] == "none"
    assert not _left(docker_client, session.id)


def test_pi_runs_in_the_sandbox_and_reaches_its_endpoint_through_the_relay(
    agent_image: str, tmp_path: Path, pi: PiHarness
) -> None:
    trial, workspace, _ = _dirs(tmp_path)
    script = [
        Reply(tool="write", arguments={"path": "hello.txt", "content": "hello\n"}),
        Reply(tool="bash", arguments={"command": "test -f /.dockerenv && echo in-container"}),
        Reply(text="Done."),
    ]
    with ScriptedOpenAI(script, model="scripted") as api:
        port = int(api.base_url.split(":")[2].split("/")[0])
        sandbox = DockerSandbox(agent_image, network="gateway", gateway_port=port)
        with sandbox.session(trial, workspace, readonly=pi.install_paths()) as session:
            endpoint = AgentEndpoint(
                base_url=api.base_url, model="scripted", context_window=4096, max_output_tokens=256
            )
            run = pi.run(workspace, trial, endpoint, "go", None, timeout_s=120, sandbox=session)
    assert run.error is None, run.error
    assert (workspace / "hello.txt").read_text() == "hello\n"
    assert [s.tool for s in run.steps] == ["write", "bash"]
    assert "in-container" in run.steps[1].output
    assert len(api.requests) == 3
