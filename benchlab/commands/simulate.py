"""``benchlab simulate``: run a sweep's trials and print what happened."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from benchlab.config.simulate import SimulateRequest
from benchlab.errors import UsageError
from benchlab.settings import Settings
from benchlab.simulate.sweep import SweepSummary
from benchlab.tracking import tracking_uri

STATUS_STYLE = {
    "passed": "green",
    "failed": "yellow",
    "limit": "magenta",
    "timeout": "red",
    "error": "red",
}


def simulate_command(
    settings: Settings, console: Console, request: SimulateRequest
) -> SweepSummary:
    """Validate the request, run the simulate flow, print the summary."""
    from benchlab.orchestration import configure_prefect
    from benchlab.simulate.plan import plan_simulation

    plan = plan_simulation(settings, request)  # refuses bad input before any work
    console.print(
        f"sweep [bold]{plan.sweep_id}[/bold]: {len(plan.targets)} targets x "
        f"{len(plan.tasks)} tasks x {len(request.agents)} agents x {request.repeats} repeats"
        f" = {plan.size} trials"
    )
    configure_prefect(settings)
    from flows.simulate import simulate

    summary = simulate(request, settings)
    print_sweep(console, settings, summary)
    return summary


def simulate_request(
    *,
    task: list[str],
    model: list[str] | None = None,
    provider: list[str] | None = None,
    quant: list[str] | None = None,
    agent: list[str] | None = None,
    repeats: int = 1,
    sweep: list[str] | None = None,
    name: str | None = None,
    sandbox: str = "auto",
    stuck_after: float | None = None,
    work_pool: str | None = None,
) -> SimulateRequest:
    """The request from the command line's options.

    Raises:
        UsageError: A value is not valid; the message names its option.
    """
    values = {
        "tasks": tuple(task),
        "models": tuple(model or ()),
        "providers": tuple(provider or ()),
        "quants": tuple(quant or ()),
        "agents": tuple(agent or ("pi",)),
        "repeats": repeats,
        "engine": tuple(sweep or ()),
        "name": name,
        "sandbox": sandbox,
        "stuck_after_s": stuck_after,
        "work_pool": work_pool,
    }
    try:
        return SimulateRequest.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        option = field.split(".")[0].replace("_", "-")
        option = OPTION_NAMES.get(option, option.rstrip("s"))
        raise UsageError(f"--{option}: {first['msg']}") from None


def print_sweep(console: Console, settings: Settings, summary: SweepSummary) -> None:
    """Counts by status, and where to look at the runs."""
    table = Table(title=f"sweep {summary.sweep_id}", show_header=False)
    before = summary.repeats_before
    if before is not None:
        # The sweep's id leaves repeats out, so that more repeats add to the same sweep.
        line = (
            f"extending sweep {summary.sweep_id} from {before} to {summary.repeats} repeats"
            if summary.repeats > before
            else f"sweep {summary.sweep_id}: running {summary.repeats} of its {before} repeats"
        )
        console.print(line, highlight=False)
    table.add_row("trials in the sweep", str(summary.planned))
    table.add_row("already recorded (skipped)", str(summary.skipped))
    table.add_row("run now", str(summary.ran))
    for status, count in sorted(summary.statuses.items()):
        style = STATUS_STYLE.get(status, "")
        table.add_row(f"  [{style}]{status}[/{style}]", str(count))
    table.add_row("MLflow", tracking_uri(settings))
    table.add_row("sweep run", summary.sweep_run_id)
    console.print(table)
    console.print(f"browse: benchlab ui   (MLflow store {tracking_uri(settings)})", highlight=False)


OPTION_NAMES = {"engine": "sweep", "stuck-after-s": "stuck-after", "work-pool": "work-pool"}
"""Request fields whose option is not the field's name less its plural ``s``."""

TaskOpt = Annotated[list[str], typer.Option("--task", "-t", help="Task to run; repeatable.")]
ModelOpt = Annotated[
    list[str] | None, typer.Option("--model", "-m", help="Model; repeatable; default all.")
]
ProviderOpt = Annotated[
    list[str] | None, typer.Option("--provider", help="Only models of this provider.")
]
QuantOpt = Annotated[list[str] | None, typer.Option("--quant", "-q", help="Only this quant.")]
AgentOpt = Annotated[
    list[str] | None, typer.Option("--agent", "-a", help="Agent harness; repeatable; default pi.")
]
RepeatsOpt = Annotated[int, typer.Option("--repeats", "-k", min=1, help="Repeats per trial.")]
SweepOpt = Annotated[
    list[str] | None,
    typer.Option("--sweep", help="Engine setting to sweep: FIELD=V1,V2; repeatable."),
]
NameOpt = Annotated[
    str | None, typer.Option("--name", help="Sweep name; default derived from the request.")
]
SandboxOpt = Annotated[
    str, typer.Option("--sandbox", help="Where agents' tools run: auto, local or docker.")
]
StuckOpt = Annotated[
    float | None,
    typer.Option(
        "--stuck-after", help="Seconds without model call or file change that end a trial."
    ),
]
PoolOpt = Annotated[
    str | None,
    typer.Option(
        "--work-pool",
        help="Send each cell to this Prefect work pool (workers on GPU hosts run them).",
    ),
]
