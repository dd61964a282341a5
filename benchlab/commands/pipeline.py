"""``benchlab pipeline``: every stage for one sweep, in order, and what each produced."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from benchlab.config.simulate import SimulateRequest
from benchlab.curate.options import CurateOptions
from benchlab.evaluate.request import JudgeOptions
from benchlab.pipeline import PipelineRequest, PipelineResult, local_models
from benchlab.settings import Settings


def pipeline_command(
    settings: Settings,
    console: Console,
    *,
    simulate: SimulateRequest,
    download: bool,
    evaluate: bool,
    dataset: str | None,
    judge_url: str | None,
    judge_model: str | None,
) -> PipelineResult:
    """Validate everything, run the pipeline flow, print each stage's outcome."""
    from benchlab.orchestration import configure_prefect

    request = PipelineRequest(
        simulate=simulate,
        download=download,
        evaluate=evaluate,
        curate=CurateOptions(dataset=dataset),
        judges=JudgeOptions(base_url=judge_url, model=judge_model),
    )
    local_models(settings, request)  # a bad config or request: one line, before any work
    configure_prefect(settings)
    from flows.pipeline import pipeline

    result = pipeline(request, settings)
    print_result(console, result)
    return result


def print_result(console: Console, result: PipelineResult) -> None:
    """One line per stage: what it did and where its output is."""
    table = Table(title="pipeline", show_header=False)
    if result.download is not None:
        table.add_row("download", result.download.summary())
    else:
        table.add_row("download", "not run (no local model, or not asked for)")
    sweep = result.sweep
    counts = ", ".join(f"{n} {status}" for status, n in sorted(sweep.statuses.items()))
    table.add_row(
        "simulate",
        f"sweep {sweep.sweep_id}: {sweep.planned} trials, {sweep.skipped} already recorded,"
        f" {sweep.ran} run now ({counts or 'none'})",
    )
    data = result.dataset
    table.add_row(
        "curate",
        f"dataset {data.dataset}@{data.version}: {data.records} records ({data.new_records} new)",
    )
    if result.evaluation is not None:
        scored = result.evaluation
        reused = " (earlier scores reused)" if scored.reused else ""
        table.add_row(
            "evaluate",
            f"{len(scored.criteria)} criteria on {scored.records} records, run {scored.run_id}"
            + reused,
        )
    else:
        table.add_row("evaluate", "not run")
    report = result.report
    table.add_row(
        "report",
        f"{report.trials} trials, {report.configurations} configurations: {report.html_path}",
    )
    console.print(table)
