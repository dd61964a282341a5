"""``benchlab serve`` and ``benchlab worker``: deployments, schedules and workers."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchlab.errors import UsageError
from benchlab.settings import Settings

NO_SERVER = (
    "{what} needs a Prefect server that outlives it: start one (`benchlab ui`, or the "
    "compose stack in docker/) and set BENCHLAB_PREFECT_API_URL, e.g. "
    "http://127.0.0.1:4200/api"
)


def serve_command(settings: Settings, console: Console, *, pool: str | None) -> None:
    """Register every deployment and serve them until interrupted.

    Raises:
        UsageError: No Prefect server is configured.
        ConfigError: ``models.yaml`` or a task file is invalid.
    """
    if not settings.prefect_api_url:
        raise UsageError(NO_SERVER.format(what="benchlab serve"))
    from benchlab.deployments import choices, deploy_cells, stage_deployments
    from benchlab.orchestration import configure_prefect

    choices(settings)  # a bad config: one line, before Prefect starts
    configure_prefect(settings)
    from prefect import serve

    pool = pool or settings.work_pool
    deployments = stage_deployments(settings)
    deploy_cells(settings, pool)
    table = Table(title=f"deployments served at {settings.prefect_api_url}")
    for column in ("deployment", "schedule"):
        table.add_column(column)
    for deployment in deployments:
        schedule = ", ".join(
            f"{s.schedule.cron} ({s.schedule.timezone})"  # type: ignore[union-attr]
            for s in deployment.schedules or ()
        )
        table.add_row(f"{deployment.flow_name}/{deployment.name}", schedule or "on demand")
    table.add_row(f"simulate-cell/{pool}", f"work pool {pool!r}: run by `benchlab worker`")
    console.print(table)
    console.print(
        "trigger: the Prefect UI, or `prefect deployment run pipeline/pipeline`; Ctrl-C stops",
        highlight=False,
    )
    serve(*deployments, print_starting_message=False)


def worker_command(settings: Settings, *, pool: str | None, limit: int, name: str | None) -> None:
    """Replace this process with a Prefect process worker on the pool.

    Raises:
        UsageError: No Prefect server is configured.
    """
    if not settings.prefect_api_url:
        raise UsageError(NO_SERVER.format(what="benchlab worker"))
    from benchlab.orchestration import configure_prefect

    configure_prefect(settings)
    prefect = Path(sys.executable).with_name("prefect")
    argv = [
        str(prefect),
        "worker",
        "start",
        "--pool",
        pool or settings.work_pool,
        "--type",
        "process",
        "--limit",
        str(limit),
        "--name",
        name or f"benchlab-{settings.engine_host}",
    ]
    sys.stdout.flush()
    # The worker stops on SIGINT (Prefect turns SIGTERM into one); a process a shell
    # started in the background inherits SIGINT ignored, and exec would keep that.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    # configure_prefect wrote Prefect's settings into this process's environment.
    os.execv(argv[0], argv)
