"""The docker sandbox: commands run in a container with the workspace, as the host user's
uid, reach their endpoint through the relay, and nothing is left running after the
session, even when the docker client was killed. What it contains (network, files, CPU,
memory, processes) is tried from inside in ``tests/security/test_containment.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from docker.client import DockerClient

from benchlab.agents import AgentEndpoint, PiHarness
from benchlab.sandbox.base import Command, Sandbox, SandboxSession
from benchlab.sandbox.docker import LABEL, DockerSandbox
from tests.agents.openai_double import Reply, ScriptedOpenAI
from tests.security.sandbox_probe import loopback_server, run_in, trial_dirs

pytestmark = pytest.mark.docker
__all__ = ["loopback_server"]  # a fixture, used by name


def _left(client: DockerClient, session_id: str) -> list[object]:
    return list(client.containers.list(all=True, filters={"label": f"{LABEL}={session_id}"}))


def test_runs_in_a_container_with_the_workspace_as_the_host_user(
    agent_image: str, tmp_path: Path
) -> None:
    trial, workspace, agent = trial_dirs(tmp_path)
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
        done = run_in(
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


def test_relay_passes_large_bodies_intact(
    agent_image: str, tmp_path: Path, loopback_server: int
) -> None:
    trial, workspace, _ = trial_dirs(tmp_path)
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
        done = run_in(session, ["python3", "-c", blob_script], workspace)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "intact\n"


def test_limits_are_set_and_nothing_is_left_after_a_killed_client(
    agent_image: str, tmp_path: Path, docker_client: DockerClient
) -> None:
    trial, workspace, _ = trial_dirs(tmp_path)
    sandbox = DockerSandbox(agent_image, network="none", cpus=1.5, memory="256m", pids_limit=64)
    with sandbox.session(trial, workspace) as session:
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
    assert host["NanoCpus"] == 1_500_000_000
    assert host["Memory"] == host["MemorySwap"] == 256 << 20
    assert host["PidsLimit"] == 64
    assert host["CapDrop"] == ["ALL"] and host["ReadonlyRootfs"] is True
    assert host["NetworkMode"] == "none"
    assert not _left(docker_client, session.id)


def test_pi_runs_in_the_sandbox_and_reaches_its_endpoint_through_the_relay(
    agent_image: str, tmp_path: Path, pi: PiHarness
) -> None:
    trial, workspace, _ = trial_dirs(tmp_path)
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
