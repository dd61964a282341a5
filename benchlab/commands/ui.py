"""``benchlab ui``: the Prefect and MLflow UIs on loopback, until Ctrl-C."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from benchlab.errors import UsageError
from benchlab.settings import Settings

__all__ = ["ui"]

out = Console(highlight=False, soft_wrap=True)

HostOpt = Annotated[
    str, typer.Option(help="Interface both servers bind to; keep loopback unless shared.")
]
PrefectPortOpt = Annotated[
    int | None,
    typer.Option(
        help="Prefect's port; default 4200 when free, else a free one.", show_default=False
    ),
]
MlflowPortOpt = Annotated[
    int | None,
    typer.Option(
        help="MLflow's port; default 5000 when free, else a free one.", show_default=False
    ),
]
PrefectOpt = Annotated[bool, typer.Option("--prefect/--no-prefect", help="Start the Prefect UI.")]
MlflowOpt = Annotated[bool, typer.Option("--mlflow/--no-mlflow", help="Start the MLflow UI.")]


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    # `kill PID` (a service manager, a test) stops the servers as Ctrl-C does. SIGINT is
    # set too: a process started in the background by a shell inherits it ignored.
    previous = {s: signal.signal(s, _interrupt) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def ui(
    host: HostOpt = "127.0.0.1",
    prefect_port: PrefectPortOpt = None,
    mlflow_port: MlflowPortOpt = None,
    prefect: PrefectOpt = True,
    mlflow: MlflowOpt = True,
) -> None:
    """Start the Prefect and MLflow UIs, print their URLs, and stop both on Ctrl-C."""
    from benchlab.services.ui import (
        MLFLOW_PORT,
        PREFECT_PORT,
        UiServer,
        UiServers,
        check_dead,
        mlflow_server,
        port_for,
        prefect_server,
    )
    from benchlab.tracking import tracking_uri

    settings = Settings()
    servers: list[UiServer] = []
    if prefect and settings.prefect_api_url:
        shown = settings.prefect_api_url.rstrip("/").removesuffix("/api")
        out.print(f"Prefect: BENCHLAB_PREFECT_API_URL is set, its UI: {shown}")
    elif prefect:
        port = prefect_port or port_for(host, PREFECT_PORT)
        servers.append(prefect_server(settings, host, port))
    uri = tracking_uri(settings)
    if mlflow and uri.startswith(("http://", "https://")):
        out.print(f"MLflow: the tracking store is a server, its UI: {uri}")
    elif mlflow:
        port = mlflow_port or port_for(host, MLFLOW_PORT)
        servers.append(mlflow_server(settings, host, port))
    if not (prefect or mlflow):
        raise UsageError("nothing to start: both UIs are off")
    if not servers:
        return  # both are served elsewhere: their addresses are all there is to show

    names = " and ".join(s.name for s in servers)
    out.print(f"starting the {names} servers (this takes a while on a busy machine) ...")
    group = UiServers(servers)
    try:
        with _sigterm_as_interrupt(), group:
            for server in servers:
                out.print(f"{server.name} UI: {server.url}  (log: {server.process.log_path})")
            for server in servers:
                if server.name == "Prefect":
                    api = f"{server.url}/api"
                    out.print(
                        "So that flows report to this Prefect server:\n"
                        f"  export BENCHLAB_PREFECT_API_URL={api}   # benchlab commands and flows\n"
                        f"  export PREFECT_API_URL={api}            # the prefect CLI"
                    )
                else:
                    out.print(f"MLflow tracking store: {uri}")
            memory = ", ".join(f"{s.name} {s.rss_mb():.0f} MiB" for s in servers)
            out.print(f"memory (RSS): {memory}")
            out.print("Press Ctrl-C to stop.")
            while True:
                check_dead(group)
                time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    out.print(f"stopped the {names} servers")
