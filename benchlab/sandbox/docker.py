"""The docker sandbox: each wrapped command runs in its own container of the agent image.

Isolation, by network mode (what this host gives when the daemon has no bridge):

- ``gateway`` (default): ``--network none``, so the container has only its own
  loopback; benchlab serves a unix socket on the host that forwards to the gateway's
  loopback port, mounts it in, and a ``socat`` in the container listens on
  ``127.0.0.1:<gateway port>`` and forwards to that socket. The agent reaches the
  gateway at the same URL as on the host and nothing else: no other host port, no
  other host, no DNS.
- ``none``: ``--network none`` and no relay; nothing is reachable (for checks).
- ``host``: ``--network host``; the container shares the host's network, so every
  loopback service and the outside world are reachable. A weaker fallback for images
  without socat.

In every mode: files are limited to the mounts (workspace and trial directory
writable, the agent's install read-only, the image's own root read-only, ``/tmp`` a
tmpfs); the process runs as the host user's uid:gid with all capabilities dropped and
no privilege gain; CPU, memory (no swap beyond it) and the number of processes are
capped. The kernel is the host's: a container is not a virtual machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from benchlab.errors import MissingToolError, UsageError
from benchlab.sandbox.base import Command
from benchlab.sandbox.relay import GatewayRelay
from benchlab.services.guardian import run_labels

NetworkMode = Literal["gateway", "none", "host"]
LABEL = "benchlab.sandbox"
RELAY_DIR = "/run/benchlab-gateway"
RELAY_SOCKET = "gateway.sock"
# The shell that starts the in-container relay end, waits until it listens (visible in
# /proc/net/tcp, so no extra tool is needed), then becomes the wrapped command.
RELAY_SHELL = (
    "command -v socat >/dev/null || {{ echo 'benchlab sandbox: no socat in the image, "
    "the gateway is unreachable' >&2; exit 127; }}; "
    "socat TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:{sock} & "
    "i=0; while ! grep -q ':{hex} 00000000:0000 0A' /proc/net/tcp && [ $i -lt 200 ]; "
    'do i=$((i+1)); sleep 0.05; done; exec "$@"'
)
CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _mount(path: Path, *, readonly: bool) -> list[str]:
    target = Path(os.path.abspath(path))
    source = target.resolve()
    if "," in f"{source}{target}":
        raise UsageError(f"the docker sandbox cannot mount a path with a comma: {target}")
    return ["--mount", f"type=bind,src={source},dst={target}" + (",readonly" if readonly else "")]


class DockerSession:
    """One trial's containers: every wrapped command is one ``docker run --rm``."""

    def __init__(
        self, sandbox: DockerSandbox, docker_bin: str, mounts: list[str], relay_dir: Path | None
    ) -> None:
        self.sandbox = sandbox
        self.docker_bin = docker_bin
        self.id = uuid.uuid4().hex[:12]
        self.containers: list[str] = []
        self._mounts = mounts
        self._relay_dir = relay_dir

    def wrap(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> Command:
        """The ``docker run`` that runs ``argv`` in ``cwd`` inside a new container.

        Variables go in as ``-e NAME`` and take their values from the docker client's
        own environment, so no value appears on a command line.
        """
        box = self.sandbox
        name = f"benchlab-sbx-{self.id}-{len(self.containers)}"
        self.containers.append(name)
        path = env.get("PATH", "")
        client_env = {**env, "PATH": f"{path}:{CONTAINER_PATH}" if path else CONTAINER_PATH}
        network = "host" if box.network == "host" else "none"
        args = [
            self.docker_bin, "run", "--rm", "-i", "--init",
            "--name", name, "--label", f"{LABEL}={self.id}",
            *(f"--label={key}={value}" for key, value in run_labels().items()),
            "--user", f"{os.getuid()}:{os.getgid()}",
            "--cpus", str(box.cpus), "--memory", box.memory, "--memory-swap", box.memory,
            "--pids-limit", str(box.pids_limit),
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "--read-only", "--tmpfs", "/tmp:rw,exec,mode=1777",
            "--network", network,
            *self._mounts,
            "-w", os.path.abspath(cwd),
            *(arg for var in sorted(client_env) for arg in ("-e", var)),
            box.image,
        ]  # fmt: skip
        if self._relay_dir is not None and box.gateway_port is not None:
            shell = RELAY_SHELL.format(
                port=box.gateway_port,
                hex=f"{box.gateway_port:04X}",
                sock=f"{RELAY_DIR}/{RELAY_SOCKET}",
            )
            args += ["sh", "-c", shell, "sh"]
        args += list(argv)
        return Command(tuple(args), cwd, {**client_env, **box.client_env})

    def remove_all(self) -> None:
        """``docker rm -f`` every container of this session, named or labelled."""
        env = {"PATH": CONTAINER_PATH, **self.sandbox.client_env}

        def docker(*args: str) -> str:
            done = subprocess.run(
                [self.docker_bin, *args], capture_output=True, text=True, env=env, check=False
            )
            return done.stdout

        # A client killed while the daemon was still creating its container leaves one
        # that appears a moment later: look twice.
        for attempt in range(2):
            labelled = docker("ps", "-aq", "--filter", f"label={LABEL}={self.id}").split()
            names = self.containers if attempt == 0 else []
            if names or labelled:
                docker("rm", "-f", *names, *labelled)
            if attempt == 0:
                time.sleep(0.3)


class DockerSandbox:
    """Runs each command in a container of ``image``; see the module docstring for what
    each network mode contains.

    Args:
        image: The sandbox image (``benchlab/agent:local``, see ``docker/agent.Dockerfile``).
        cpus: CPUs the container may use (``--cpus``).
        memory: Memory cap, swap included (``--memory``, ``--memory-swap``), e.g. ``4g``.
        pids_limit: Most processes and threads at once (``--pids-limit``).
        network: ``gateway``, ``none`` or ``host``.
        gateway_port: The gateway's port on host loopback (``gateway`` mode).
        client_env: Variables the docker client itself needs (``DOCKER_HOST``,
            ``DOCKER_CONFIG``); given to the client, not to the container.
    """

    name = "docker"

    def __init__(
        self,
        image: str = "benchlab/agent:local",
        *,
        cpus: float = 2.0,
        memory: str = "4g",
        pids_limit: int = 1024,
        network: NetworkMode = "gateway",
        gateway_port: int | None = None,
        client_env: Mapping[str, str] | None = None,
    ) -> None:
        if network == "gateway" and gateway_port is None:
            raise UsageError("the docker sandbox's gateway network needs the gateway's port")
        self.image = image
        self.cpus = cpus
        self.memory = memory
        self.pids_limit = pids_limit
        self.network = network
        self.gateway_port = gateway_port
        self.client_env = dict(client_env or {})

    @property
    def isolation(self) -> str:
        """In plain words, what this sandbox contains."""
        reach = {
            "gateway": f"only the gateway (127.0.0.1:{self.gateway_port}) over a relay",
            "none": "no network at all",
            "host": "the host's whole network (loopback services and the internet)",
        }[self.network]
        return (
            f"docker ({self.image}): tools run in a container as your uid with no "
            f"capabilities; they see only the workspace and trial directory (writable) and "
            f"the agent install (read-only); {self.cpus} CPUs, {self.memory} memory, "
            f"{self.pids_limit} processes; network: {reach}."
        )

    @contextmanager
    def session(
        self,
        trial_dir: Path,
        workspace: Path,
        *,
        readonly: Sequence[Path] = (),
    ) -> Iterator[DockerSession]:
        """Open the trial's sandbox; on exit every container it started is removed.

        Raises:
            MissingToolError: The docker client is not installed.
        """
        docker_bin = shutil.which("docker")
        if docker_bin is None:
            raise MissingToolError("the docker sandbox needs the docker client on PATH")
        mounts = [
            *_mount(workspace, readonly=False),
            *_mount(trial_dir, readonly=False),
            *(arg for path in readonly for arg in _mount(path, readonly=True)),
        ]
        with contextlib.ExitStack() as stack:
            relay_dir: Path | None = None
            if self.network == "gateway" and self.gateway_port is not None:
                # Short and private: a unix socket path is limited to 108 bytes.
                relay_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bl-gw-")))
                relay = GatewayRelay(relay_dir / RELAY_SOCKET, self.gateway_port).start()
                stack.callback(relay.stop)
                mounts += ["--mount", f"type=bind,src={relay_dir},dst={RELAY_DIR}"]
            session = DockerSession(self, docker_bin, mounts, relay_dir)
            stack.callback(session.remove_all)
            yield session
