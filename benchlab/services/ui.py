"""The Prefect and MLflow web UIs as local server processes, started and stopped together.

Both run from this Python environment, each in its own process group, bound to one host
(loopback by default) and lean on memory: one worker each, MLflow without its job runner.
"""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass
from functools import partial
from types import TracebackType

import psutil

from benchlab.errors import ServiceError
from benchlab.services.process import ManagedProcess, free_port, http_ok, wait_until
from benchlab.settings import Settings, inherited_env
from benchlab.tracking import artifact_root, tracking_uri

PREFECT_PORT = 4200
"""Prefect's usual port, taken when it is free."""

MLFLOW_PORT = 5000
"""MLflow's usual port, taken when it is free."""

START_TIMEOUT_S = 180.0
"""How long each server may take to answer; importing either takes 15 s on 2 busy cores."""


def port_for(host: str, preferred: int) -> int:
    """``preferred`` when nothing listens on it on ``host``, else a free port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, preferred))
        except OSError:
            return free_port(host)
    return preferred


def group_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MiB (0 when it is gone)."""
    try:
        leader = psutil.Process(pid)
        members = [leader, *leader.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for proc in members:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 2**20


@dataclass
class UiServer:
    """One web server: what it is, where it answers, and its process."""

    name: str
    """What it is, as shown to the user: ``Prefect`` or ``MLflow``."""

    url: str
    """The UI's address."""

    health_url: str
    """A URL that answers 2xx once the server is ready."""

    process: ManagedProcess
    """The server's process (leader of its own process group)."""

    def rss_mb(self) -> float:
        """The server's resident memory, all its processes together."""
        return group_rss_mb(self.process.pid)


def _url(host: str, port: int) -> str:
    # A server bound to every interface is reached on loopback from this machine.
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def prefect_server(settings: Settings, host: str, port: int) -> UiServer:
    """A Prefect server on ``host:port`` whose database lives under the data directory.

    It uses the same ``PREFECT_HOME`` as the temporary server that flows start
    themselves, so their runs show in this UI too.
    """
    home = settings.state_dir / "prefect"
    url = _url(host, port)
    env = inherited_env()
    env |= {
        "PREFECT_HOME": str(home),
        # No telemetry: it needs the network, and its heartbeat races the sqlite store.
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # The UI calls the API from the browser: the printed address, never 0.0.0.0.
        "PREFECT_SERVER_UI_API_URL": f"{url}/api",
    }
    argv = [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)]
    argv += ["--workers", "1"]
    process = ManagedProcess(argv, log_path=home / "server.log", env=env, cwd=home)
    return UiServer("Prefect", url, f"{url}/api/health", process)


def mlflow_server(settings: Settings, host: str, port: int) -> UiServer:
    """An MLflow server on ``host:port`` over the configured tracking store.

    Artifacts logged through it go where :func:`benchlab.tracking.setup_tracking` puts
    them for the local store (``<data>/mlartifacts``), so a run shows the same files
    whichever way it was logged.
    """
    logs = settings.state_dir / "logs"
    env = inherited_env()
    env |= {
        # The job runner starts extra worker processes; the UI does not need them.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        # litellm (imported by MLflow's GenAI parts) would fetch a price list otherwise.
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    argv = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri"]
    argv += [tracking_uri(settings), "--host", host, "--port", str(port), "--workers", "1"]
    argv += ["--artifacts-destination", str(artifact_root(settings))]
    url = _url(host, port)
    logs.mkdir(parents=True, exist_ok=True)
    process = ManagedProcess(argv, log_path=logs / "mlflow-server.log", env=env, cwd=logs)
    return UiServer("MLflow", url, f"{url}/health", process)


class UiServers:
    """Servers started together, ready once each answers, stopped together.

    Use as a context manager: leaving the block stops every process group on every
    exit path, including a failed start.
    """

    def __init__(self, servers: list[UiServer], *, start_timeout_s: float = START_TIMEOUT_S):
        self.servers = servers
        self.start_timeout_s = start_timeout_s

    def start(self) -> list[UiServer]:
        """Start every server at once, then wait until each answers HTTP."""
        try:
            for server in self.servers:
                server.process.start()
            for server in self.servers:
                wait_until(
                    partial(http_ok, server.health_url),
                    timeout_s=self.start_timeout_s,
                    what=f"the {server.name} server (log: {server.process.log_path})",
                    process=server.process,
                    interval_s=0.5,
                )
        except BaseException:
            self.stop()
            raise
        return self.servers

    def first_dead(self) -> UiServer | None:
        """A server whose process has exited, if any."""
        return next((s for s in self.servers if not s.process.alive()), None)

    def stop(self) -> None:
        """Stop every server's process group; safe to call twice."""
        for server in self.servers:
            server.process.stop()

    def __enter__(self) -> list[UiServer]:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def check_dead(servers: UiServers) -> None:
    """Raise if a server stopped on its own.

    Raises:
        ServiceError: naming the server, its exit code and its last log lines.
    """
    dead = servers.first_dead()
    if dead is not None:
        raise ServiceError(
            f"the {dead.name} server exited with code {dead.process.returncode()}; "
            f"last log lines:\n{dead.process.log_tail()}"
        )
