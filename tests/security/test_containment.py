"""The docker sandbox's containment, each claim tried from inside and seen to fail:
network (only the gateway), files (only the workspace and trial directory), and CPU,
memory and process limits (read back from the container's own cgroup, then exceeded).

The limits are read from the cgroup files the kernel enforces (cgroup v2 names first,
then v1), so a test fails if docker were asked for a limit that never reached the
kernel.
"""

from __future__ import annotations

import json
import socket
import textwrap
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest
from docker.client import DockerClient

from benchlab.gateway import Gateway
from benchlab.sandbox.docker import LABEL, DockerSandbox
from tests.security.sandbox_probe import (
    UNREACHABLE,
    loopback_server,
    reach_script,
    run_in,
    serve_http,
    trial_dirs,
)

pytestmark = pytest.mark.docker
__all__ = ["loopback_server"]  # a fixture, used by name

CGROUP = textwrap.dedent(
    """
    import json, os, sys, time
    def cg(*names):
        for name in names:
            try:
                with open('/sys/fs/cgroup/' + name) as f:
                    return f.read().strip()
            except OSError:
                pass
        return None
    def field(text, key):
        for line in (text or '').splitlines():
            parts = line.split()
            if parts and parts[0] == key:
                return int(parts[1])
        return None
    """
)
"""Python that reads the container's own cgroup files (v2 names, else v1)."""


def _left(client: DockerClient, session_id: str) -> list[object]:
    return list(client.containers.list(all=True, filters={"label": f"{LABEL}={session_id}"}))


def _host_address() -> str:
    """This host's first non-loopback IPv4 address."""
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not address.address.startswith("127."):
                return address.address
    pytest.skip("this host has no non-loopback IPv4 address to try")


# --- network -------------------------------------------------------------------------


def test_reaches_only_the_gateway(agent_image: str, tmp_path: Path, loopback_server: int) -> None:
    trial, workspace, _ = trial_dirs(tmp_path)
    with Gateway() as gateway:
        sandbox = DockerSandbox(agent_image, network="gateway", gateway_port=gateway.port)
        with sandbox.session(trial, workspace) as session:
            to_gateway = run_in(
                session,
                ["python3", "-c", reach_script("127.0.0.1", gateway.port, "/t/x/v1/models")],
                workspace,
            )
            to_other = run_in(
                session, ["python3", "-c", reach_script("127.0.0.1", loopback_server)], workspace
            )
    # The gateway answers (404: no route for trial x) in its own words.
    assert to_gateway.returncode == 0, to_gateway.stderr
    assert to_gateway.stdout.startswith("404") and "benchlab gateway" in to_gateway.stdout
    assert to_other.returncode == UNREACHABLE and "unreachable" in to_other.stdout
    # The same server is reachable from the host, so the container is what blocks it.
    with socket.create_connection(("127.0.0.1", loopback_server), timeout=5):
        pass


NETWORK_PROBE = textwrap.dedent(
    """
    import json, os, socket, sys
    host_ip, host_port = sys.argv[1], int(sys.argv[2])
    def connect(address):
        try:
            with socket.create_connection(address, timeout=5):
                return 'connected'
        except OSError as exc:
            return type(exc).__name__
    def lookup(name):
        try:
            return socket.getaddrinfo(name, 443)[0][4][0]
        except OSError as exc:
            return type(exc).__name__
    print(json.dumps({
        'interfaces': sorted(os.listdir('/sys/class/net')),
        'host address': connect((host_ip, host_port)),
        'external address': connect(('1.1.1.1', 443)),
        'external address v6': connect(('2606:4700:4700::1111', 443)),
        'dns': lookup('pypi.org'),
    }))
    """
)


def test_reaches_no_other_host_address_and_resolves_no_name(
    agent_image: str, tmp_path: Path
) -> None:
    trial, workspace, _ = trial_dirs(tmp_path)
    host_ip = _host_address()
    # A server on every host interface: reachable from the host at its own address.
    server, _ = serve_http("0.0.0.0")
    port = int(server.server_address[1])
    try:
        with socket.create_connection((host_ip, port), timeout=5):
            pass
        with Gateway() as gateway:
            sandbox = DockerSandbox(agent_image, network="gateway", gateway_port=gateway.port)
            with sandbox.session(trial, workspace) as session:
                done = run_in(
                    session, ["python3", "-c", NETWORK_PROBE, host_ip, str(port)], workspace
                )
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["interfaces"] == ["lo"]
    for what in ("host address", "external address", "external address v6", "dns"):
        assert seen[what] in {"OSError", "gaierror", "TimeoutError"}, (what, seen[what])


def test_network_none_reaches_nothing(
    agent_image: str, tmp_path: Path, loopback_server: int
) -> None:
    trial, workspace, _ = trial_dirs(tmp_path)
    with DockerSandbox(agent_image, network="none").session(trial, workspace) as session:
        done = run_in(
            session, ["python3", "-c", reach_script("127.0.0.1", loopback_server)], workspace
        )
    assert done.returncode == UNREACHABLE


# --- files ---------------------------------------------------------------------------


def test_cannot_write_outside_the_workspace(agent_image: str, tmp_path: Path) -> None:
    trial, workspace, agent = trial_dirs(tmp_path)
    unmounted = tmp_path / "elsewhere"
    unmounted.mkdir()
    escape = Path.home() / f"benchlab-escape-{uuid.uuid4().hex[:8]}"
    sandbox = DockerSandbox(agent_image, network="none")
    with sandbox.session(trial, workspace, readonly=[agent]) as session:
        attempts = {
            "readonly mount": f"touch {agent}/x",
            "root": "touch /x",
            "image root": "touch /etc/x",
            "unmounted host dir": f"ls {unmounted}",
            "host home": f"touch {escape}",
            "mount": "mount -t tmpfs none /mnt",
        }
        results = {
            what: run_in(session, ["sh", "-c", cmd], workspace) for what, cmd in attempts.items()
        }
        # Under /tmp (the container's own tmpfs) the host's path can be made again, but
        # what is written there never reaches the host.
        shadow = run_in(
            session, ["sh", "-c", f"mkdir -p {unmounted} && touch {unmounted}/x"], workspace
        )
        allowed = run_in(
            session,
            ["sh", "-c", f"echo t > /tmp/t && cat /tmp/t && touch made {trial}/made"],
            workspace,
        )
    for what, done in results.items():
        assert done.returncode != 0, what
    assert "Read-only file system" in results["readonly mount"].stderr
    assert "Read-only file system" in results["root"].stderr
    assert "Read-only file system" in results["image root"].stderr
    assert "No such file" in results["unmounted host dir"].stderr
    assert shadow.returncode == 0, shadow.stderr
    assert not (agent / "x").exists() and not list(unmounted.iterdir())
    assert not escape.exists()
    assert allowed.returncode == 0 and allowed.stdout == "t\n", allowed.stderr
    assert (workspace / "made").exists() and (trial / "made").exists()


# --- resources -----------------------------------------------------------------------

CPU_BURN = CGROUP + textwrap.dedent(
    """
    import multiprocessing
    def spin(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pass
    before = field(cg('cpu.stat', 'cpu/cpu.stat'), 'nr_throttled')
    start = time.monotonic()
    workers = [multiprocessing.Process(target=spin, args=(4.0,)) for _ in range(4)]
    for w in workers: w.start()
    for w in workers: w.join()
    wall = time.monotonic() - start
    times = os.times()
    quota = cg('cpu.max') or (cg('cpu/cpu.cfs_quota_us') + ' ' + cg('cpu/cpu.cfs_period_us'))
    print(json.dumps({
        'quota': quota,
        'cpu_s': times.children_user + times.children_system,
        'wall_s': wall,
        'throttled': field(cg('cpu.stat', 'cpu/cpu.stat'), 'nr_throttled') - before,
    }))
    """
)


def _burn(agent_image: str, tmp_path: Path, cpus: float) -> dict[str, Any]:
    trial, workspace, _ = trial_dirs(tmp_path / f"cpus-{cpus}")
    sandbox = DockerSandbox(agent_image, network="none", cpus=cpus)
    with sandbox.session(trial, workspace) as session:
        done = run_in(session, ["python3", "-c", CPU_BURN], workspace)
    assert done.returncode == 0, done.stderr
    seen: dict[str, Any] = json.loads(done.stdout)
    quota, period = (int(n) for n in seen["quota"].split())
    seen["cap"] = quota / period
    seen["share"] = seen["cpu_s"] / seen["wall_s"]
    return seen


def test_cpu_is_capped(agent_image: str, tmp_path: Path) -> None:
    (tmp_path / "cpus-2.0").mkdir()
    (tmp_path / "cpus-0.5").mkdir()
    # The same burn under a cap of 2 CPUs first: it shows how much this host gives now.
    free = _burn(agent_image, tmp_path, 2.0)
    capped = _burn(agent_image, tmp_path, 0.5)
    assert free["cap"] == 2.0 and capped["cap"] == 0.5
    # Four busy processes got at most half a CPU (the kernel lets a period's quota run
    # a little over, hence the margin).
    assert capped["share"] <= 0.5 * 1.3, capped
    if free["share"] < 0.8:
        pytest.skip(f"host too busy to tell the cap apart: uncapped burn got {free['share']:.2f}")
    assert capped["throttled"] > 0, capped


MEMORY_HOG = CGROUP + textwrap.dedent(
    """
    import subprocess
    hog = subprocess.run([sys.executable, '-c', "b = b'x' * (600 << 20); print(len(b))"])
    print(json.dumps({
        'limit': int(cg('memory.max', 'memory/memory.limit_in_bytes')),
        'hog_exit': hog.returncode,
        'oom_kills': field(cg('memory.events', 'memory/memory.oom_control'), 'oom_kill'),
    }))
    """
)


def test_memory_beyond_the_cap_is_oom_killed(agent_image: str, tmp_path: Path) -> None:
    trial, workspace, _ = trial_dirs(tmp_path)
    sandbox = DockerSandbox(agent_image, network="none", memory="256m")
    with sandbox.session(trial, workspace) as session:
        done = run_in(session, ["python3", "-c", MEMORY_HOG], workspace)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["limit"] == 256 << 20
    # The allocating child was killed by the kernel (SIGKILL), the cgroup counts it.
    assert seen["hog_exit"] == -9, seen
    assert seen["oom_kills"] is None or seen["oom_kills"] >= 1, seen


FORK_COUNT = CGROUP + textwrap.dedent(
    """
    import signal
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
    print(json.dumps({'forked': len(children), 'max': cg('pids.max', 'pids/pids.max')}))
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    """
)

FORK_BOMB = CGROUP + textwrap.dedent(
    """
    import subprocess
    bomb = subprocess.Popen(['sh', '-c', 'bomb() { bomb | bomb & }; bomb; : ' + sys.argv[1]])
    time.sleep(4)
    # Only reads from here on: with the limit reached, nothing more can be started.
    print(json.dumps({
        'current': int(cg('pids.current', 'pids/pids.current')),
        'refused': field(cg('pids.events', 'pids/pids.events'), 'max'),
    }), flush=True)
    os._exit(0)
    """
)


def test_processes_are_capped_and_a_fork_bomb_leaves_nothing(
    agent_image: str, tmp_path: Path, docker_client: DockerClient
) -> None:
    trial, workspace, _ = trial_dirs(tmp_path)
    token = f"benchlab-bomb-{uuid.uuid4().hex[:8]}"
    sandbox = DockerSandbox(agent_image, network="none", pids_limit=64)
    with sandbox.session(trial, workspace) as session:
        forks = run_in(session, ["python3", "-c", FORK_COUNT], workspace)
        bomb = run_in(session, ["python3", "-c", FORK_BOMB, token], workspace, timeout_s=90)
    assert forks.returncode == 0, forks.stderr
    counted = json.loads(forks.stdout)
    assert counted["max"] == "64"
    # python, its children and the init process share the 64 slots.
    assert 10 < counted["forked"] < 64
    assert bomb.returncode == 0, bomb.stderr
    seen = json.loads(bomb.stdout)
    assert seen["current"] <= 64 and seen["refused"] > 0, seen
    # The container's end took the bomb's processes with it: none is left on the host.
    assert not _left(docker_client, session.id)
    alive = [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if token in " ".join(p.info.get("cmdline") or [])
    ]
    assert alive == []
