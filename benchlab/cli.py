"""The ``benchlab`` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from benchlab.commands import simulate as sim
from benchlab.commands.curate import curate as curate_command
from benchlab.commands.evaluate import evaluate as evaluate_command
from benchlab.commands.judges import app as judges_app
from benchlab.commands.report import compare as compare_command
from benchlab.commands.report import report as report_command
from benchlab.commands.ui import ui as ui_command
from benchlab.errors import BenchlabError, ConfigError
from benchlab.settings import Settings

app = typer.Typer(
    help="Benchmark local GGUF models as coding agents on real repositories.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
models_app = typer.Typer(help="The models in models.yaml.", no_args_is_help=True)
images_app = typer.Typer(
    help="Local docker images: engine and agent sandbox.", no_args_is_help=True
)
tasks_app = typer.Typer(help="The tasks in the tasks directory.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(tasks_app, name="tasks")
app.add_typer(images_app, name="images")
app.add_typer(judges_app, name="judges")
app.command("curate")(curate_command)
app.command("evaluate")(evaluate_command)
app.command("report")(report_command)
app.command("compare")(compare_command)
app.command("ui")(ui_command)

out = Console()
err = Console(stderr=True)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="models.yaml to use.", show_default=False)
]
TasksOpt = Annotated[
    Path | None, typer.Option("--tasks-dir", help="Directory of task files.", show_default=False)
]


def _settings(config: Path | None, tasks_dir: Path | None) -> Settings:
    overrides: dict[str, Path] = {}
    if config is not None:
        overrides["models_file"] = config
    if tasks_dir is not None:
        overrides["tasks_dir"] = tasks_dir
    return Settings(**overrides)  # type: ignore[arg-type]


@app.callback()
def _guarded() -> None:
    """Benchmark local GGUF models as coding agents on real repositories."""
    from benchlab.services.guardian import guard

    # Whatever a command starts dies with benchlab, however benchlab dies; leftovers of
    # an earlier run that died together with its guardian are stopped first.
    guard(Settings().state_dir, report=lambda line: err.print(f"benchlab: {line}", markup=False))


@app.command()
def check(config: ConfigOpt = None, tasks_dir: TasksOpt = None) -> None:
    """Validate models.yaml and every task file; exit 2 on any problem."""
    from benchlab.config import validate_all

    settings = _settings(config, tasks_dir)
    from benchlab.config.cells import sweep_cells

    models, tasks = validate_all(settings.models_file, settings.tasks_dir)

    def count(n: int, noun: str) -> str:
        return f"{n} {noun}" + ("" if n == 1 else "s")

    out.print(
        f"[green]ok[/green]: {settings.models_file} ({count(len(models.models), 'model')}, "
        f"{count(len(sweep_cells(models)), 'engine cell')}), {settings.tasks_dir} "
        f"({count(len(tasks), 'task')})"
    )


@models_app.command("list")
def models_list(config: ConfigOpt = None) -> None:
    """List the models, their provider, source and quantizations."""
    from benchlab.config import load_models

    settings = _settings(config, None)
    models = load_models(settings.models_file)
    table = Table(title=f"models in {settings.models_file} (bucket {models.bucket})")
    for column in ("name", "provider", "repository / endpoint", "quants", "context"):
        table.add_column(column)
    for model in models.models:
        if model.provider == "local":
            where = f"{model.repo_id}@{model.revision}"  # type: ignore[union-attr]
            quants = ", ".join(model.quant_tags)  # type: ignore[union-attr]
        else:
            where, quants = model.base_url, "-"  # type: ignore[union-attr]
        table.add_row(model.name, model.provider, where, quants, str(model.context_size))
    out.print(table)


@tasks_app.command("list")
def tasks_list(tasks_dir: TasksOpt = None) -> None:
    """List the tasks with their archetype, repository and checks."""
    from benchlab.config import load_tasks

    settings = _settings(None, tasks_dir)
    tasks = load_tasks(settings.tasks_dir)
    table = Table(title=f"tasks in {settings.tasks_dir}")
    for column in ("name", "archetype", "repository", "checks", "description"):
        table.add_column(column)
    for task in tasks.values():
        repo = task.repository.url or task.repository.path or ""
        table.add_row(
            task.name,
            task.archetype.value,
            f"{repo}@{task.repository.ref}",
            str(len(task.checks)),
            task.description.strip().splitlines()[0] if task.description.strip() else "",
        )
    out.print(table)


@images_app.command("build")
def images_build(
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if up to date.")] = False,
) -> None:
    """Build the local images: a Debian base, llama-server (CPU) and the agent sandbox."""
    from benchlab.images import ImageBuild, build_images

    def show(image: ImageBuild) -> None:
        state = f"built in {image.seconds:.0f}s" if image.built else "up to date"
        out.print(f"{image.tag}: {state}")

    build_images(force=force, report=show)


@app.command()
def doctor(config: ConfigOpt = None) -> None:
    """Show what is installed and reachable, and how to get what is missing."""
    from rich.markup import escape

    from benchlab.doctor import diagnose

    settings = _settings(config, None)
    table = Table(title="benchlab doctor")
    table.add_column("component", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("details (and how to fix)", overflow="fold")
    findings = diagnose(settings)
    for finding in findings:
        if finding.ok:
            mark = "[green]ok[/green]"
        elif finding.optional:
            mark = "[yellow]optional[/yellow]"
        else:
            mark = "[red]failed[/red]" if finding.blocking else "[red]missing[/red]"
        # Details quote logs and paths, whose brackets are not markup.
        detail = escape(finding.detail)
        if finding.remedy and not finding.ok:
            detail += f"\n[bold]fix:[/bold] {escape(finding.remedy)}"
        table.add_row(finding.component, mark, detail)
    out.print(table)
    broken = [f.component for f in findings if f.blocking and not f.ok]
    if broken:
        raise BenchlabError(f"doctor: {', '.join(broken)} not working; nothing can run")


@app.command()
def demo(
    config: ConfigOpt = None,
    tasks_dir: TasksOpt = None,
    task: Annotated[str, typer.Option(help="Task to run.")] = "sample",
    model: Annotated[str | None, typer.Option(help="Model to run; default the first.")] = None,
) -> None:
    """Run one trial end to end on the embedded defaults and show where the results are."""
    from benchlab.demo import plan_demo
    from benchlab.orchestration import configure_prefect
    from benchlab.results import TrialStatus
    from benchlab.summary import print_summary

    settings = _settings(config, tasks_dir)
    plan = plan_demo(settings, task, model)
    configure_prefect(settings)
    from flows.demo import demo as demo_flow

    result, logged = demo_flow(settings, plan)
    tokens_match = print_summary(out, settings, result, logged)
    if result.status is TrialStatus.error:
        # The machine failed to run the trial: that is no result, and no token mismatch.
        raise BenchlabError(f"the trial could not run: {result.reason}")
    if tokens_match is False:
        raise BenchlabError("the trace's token counts differ from llama-server's own counters")


@app.command()
def download(
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="Model to download; repeatable.")
    ] = None,
    provider: Annotated[str | None, typer.Option(help="Only models of this provider.")] = None,
    config: ConfigOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan; transfer nothing.")
    ] = False,
) -> None:
    """Download models from Hugging Face (or their source) into S3, verified, with manifests."""
    from benchlab.download.steps import check as check_download
    from benchlab.orchestration import configure_prefect

    settings = _settings(config, None)
    # Bad config, names, repositories or quants: one line and exit 2 before Prefect starts.
    check_download(settings, model or (), provider)
    configure_prefect(settings)
    from flows.download import download as download_flow

    download_flow(model or None, provider, None, dry_run, settings)


@app.command()
def simulate(
    task: sim.TaskOpt,
    config: ConfigOpt = None,
    tasks_dir: TasksOpt = None,
    model: sim.ModelOpt = None,
    provider: sim.ProviderOpt = None,
    quant: sim.QuantOpt = None,
    agent: sim.AgentOpt = None,
    repeats: sim.RepeatsOpt = 1,
    sweep: sim.SweepOpt = None,
    name: sim.NameOpt = None,
    sandbox: sim.SandboxOpt = "auto",
    stuck_after: sim.StuckOpt = None,
    work_pool: sim.PoolOpt = None,
) -> None:
    """Run cells x agents x tasks x repeats; a rerun skips trials already recorded."""
    request = sim.simulate_request(
        task=task, model=model, provider=provider, quant=quant, agent=agent, repeats=repeats,
        sweep=sweep, name=name, sandbox=sandbox, stuck_after=stuck_after, work_pool=work_pool,
    )  # fmt: skip
    sim.simulate_command(_settings(config, tasks_dir), out, request)


@app.command()
def pipeline(
    task: sim.TaskOpt,
    config: ConfigOpt = None,
    tasks_dir: TasksOpt = None,
    model: sim.ModelOpt = None,
    provider: sim.ProviderOpt = None,
    quant: sim.QuantOpt = None,
    agent: sim.AgentOpt = None,
    repeats: sim.RepeatsOpt = 1,
    sweep: sim.SweepOpt = None,
    name: sim.NameOpt = None,
    sandbox: sim.SandboxOpt = "auto",
    work_pool: sim.PoolOpt = None,
    download: Annotated[
        bool, typer.Option("--download/--no-download", help="Put the models into S3 first.")
    ] = True,
    evaluate: Annotated[
        bool, typer.Option("--evaluate/--no-evaluate", help="Score the dataset with judges.")
    ] = True,
    dataset: Annotated[
        str | None, typer.Option("--dataset", help="Dataset name; default by archetype.")
    ] = None,
    judge_url: Annotated[
        str | None, typer.Option("--judge-url", help="OpenAI-compatible judge endpoint.")
    ] = None,
    judge_model: Annotated[
        str | None, typer.Option("--judge-model", help="Model name at the judge endpoint.")
    ] = None,
) -> None:
    """Download, simulate, curate, evaluate and report one sweep; a rerun resumes it."""
    from benchlab.commands.pipeline import pipeline_command

    request = sim.simulate_request(
        task=task, model=model, provider=provider, quant=quant, agent=agent, repeats=repeats,
        sweep=sweep, name=name, sandbox=sandbox, work_pool=work_pool,
    )  # fmt: skip
    pipeline_command(
        _settings(config, tasks_dir),
        out,
        simulate=request,
        download=download,
        evaluate=evaluate,
        dataset=dataset,
        judge_url=judge_url,
        judge_model=judge_model,
    )


PoolNameOpt = Annotated[
    str | None,
    typer.Option("--pool", help="Work pool; default BENCHLAB_WORK_POOL (benchlab)."),
]


@app.command()
def serve(config: ConfigOpt = None, tasks_dir: TasksOpt = None, pool: PoolNameOpt = None) -> None:
    """Serve the stages, the pipeline and its schedules (needs BENCHLAB_PREFECT_API_URL)."""
    from benchlab.commands.serve import serve_command

    serve_command(_settings(config, tasks_dir), out, pool=pool)


@app.command()
def worker(
    pool: PoolNameOpt = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="Cells this worker runs at once.")
    ] = 1,
    name: Annotated[
        str | None, typer.Option("--name", help="Worker name; default benchlab-<host>.")
    ] = None,
) -> None:
    """Run a Prefect worker on the work pool: this host runs the cells sent there."""
    from benchlab.commands.serve import worker_command

    worker_command(_settings(None, None), pool=pool, limit=limit, name=name)


def main() -> None:
    """Entry point: user mistakes print one line and exit with their code."""
    try:
        app()
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(str(problem), markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except BenchlabError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
