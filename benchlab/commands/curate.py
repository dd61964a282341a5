"""``benchlab curate``: trial runs into a versioned evaluation dataset."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from benchlab.curate.filters import CurateFilters
from benchlab.curate.options import CurateOptions
from benchlab.curate.result import CurateResult
from benchlab.errors import UsageError
from benchlab.settings import Settings
from benchlab.tracking import tracking_uri

CELL_COLUMNS = (
    ("trials", "trials", "{:.0f}"),
    ("turns", "baseline.turns", "{:.1f}"),
    ("out tokens", "baseline.tokens.output", "{:.0f}"),
    ("tool errors", "baseline.tool_error_rate", "{:.0%}"),
    ("loops", "baseline.loops", "{:.2f}"),
    ("refusals", "baseline.heuristic.refusal", "{:.0%}"),
    ("ttft p50 s", "baseline.ttft.p50_s", "{:.2f}"),
    ("tg tok/s", "baseline.speed.tg_tps", "{:.1f}"),
)
"""The per-cell columns shown: heading, metric, format."""

M = TypeVar("M", CurateFilters, CurateOptions)


def _validated(model: type[M], values: dict[str, object]) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        flag = f"--{field.removesuffix('es' if field == 'statuses' else 's')}: " if field else ""
        raise UsageError(f"{flag.replace('_', '-')}{first['msg']}") from None


def _many(*names: str, help: str) -> typer.models.OptionInfo:
    return typer.Option(*names, help=help, show_default=False)


TaskOpt = Annotated[list[str] | None, _many("--task", "-t", help="Task; repeatable.")]
ArchetypeOpt = Annotated[list[str] | None, _many("--archetype", help="Archetype; repeatable.")]
ModelOpt = Annotated[list[str] | None, _many("--model", "-m", help="Model; repeatable.")]
QuantOpt = Annotated[list[str] | None, _many("--quant", "-q", help="Quant; repeatable.")]
CellOpt = Annotated[list[str] | None, _many("--cell", help="Engine cell id; repeatable.")]
StatusOpt = Annotated[
    list[str] | None,
    _many("--status", help="passed, failed, error, timeout or limit; repeatable."),
]
SweepOpt = Annotated[list[str] | None, _many("--sweep", help="Sweep id; repeatable.")]
SinceOpt = Annotated[datetime | None, _many("--since", help="Trials started at or after (UTC).")]
UntilOpt = Annotated[datetime | None, _many("--until", help="Trials started before (UTC).")]
DatasetOpt = Annotated[
    str | None, _many("--dataset", help="Dataset name; default benchlab-<archetype or all>.")
]
DiffOpt = Annotated[int, typer.Option(help="Diff characters kept per record.")]
TranscriptOpt = Annotated[int, typer.Option(help="Transcript characters kept per record.")]
LoopOpt = Annotated[int, typer.Option(help="Identical tool calls in a row that make a loop.")]
ParquetOpt = Annotated[
    bool, typer.Option("--parquet/--no-parquet", help="Also export the records as parquet.")
]
TasksDirOpt = Annotated[Path | None, _many("--tasks-dir", help="Directory of task files.")]


def curate(
    task: TaskOpt = None,
    archetype: ArchetypeOpt = None,
    model: ModelOpt = None,
    quant: QuantOpt = None,
    cell: CellOpt = None,
    status: StatusOpt = None,
    sweep: SweepOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    dataset: DatasetOpt = None,
    max_diff_chars: DiffOpt = 12_000,
    max_transcript_chars: TranscriptOpt = 16_000,
    loop_repeats: LoopOpt = 3,
    parquet: ParquetOpt = True,
    tasks_dir: TasksDirOpt = None,
) -> None:
    """Turn the selected trial runs into a versioned MLflow evaluation dataset; curating
    the same trials again finds the same version and writes nothing."""
    filters = _validated(CurateFilters, {
        "tasks": task or (), "archetypes": archetype or (), "models": model or (),
        "quants": quant or (), "cells": cell or (), "statuses": status or (),
        "sweeps": sweep or (), "since": since, "until": until,
    })  # fmt: skip
    options = _validated(CurateOptions, {
        "dataset": dataset, "max_diff_chars": max_diff_chars,
        "max_transcript_chars": max_transcript_chars, "loop_repeats": loop_repeats,
        "parquet": parquet,
    })  # fmt: skip
    settings = Settings(tasks_dir=tasks_dir) if tasks_dir is not None else Settings()
    from benchlab.orchestration import configure_prefect

    configure_prefect(settings)
    from flows.curate import curate as curate_flow

    print_result(Console(), settings, curate_flow(filters, options, settings))


def print_result(console: Console, settings: Settings, result: CurateResult) -> None:
    """The version written (or found), its counts, per-cell baselines, where to look."""
    table = Table(title=f"dataset [bold]{result.ref}[/bold]", show_header=False)
    table.add_row("records", str(result.records))
    if result.already_curated:
        table.add_row("already curated", "yes: nothing written")
    else:
        table.add_row("  new", str(result.new_records))
        table.add_row("  replaced (same trial)", str(result.existing_records))
    table.add_row("trial runs given baseline.* metrics", str(result.runs_updated))
    table.add_row("version run", result.run_id)
    table.add_row("parquet", str(result.parquet_path) if result.parquet_path else "-")
    table.add_row("MLflow", tracking_uri(settings))
    console.print(table)
    cells = Table(title="baseline per cell (means over trials)")
    cells.add_column("cell")
    for heading, _, _ in CELL_COLUMNS:
        cells.add_column(heading, justify="right")
    for name, values in sorted(result.cells.items()):
        row = [fmt.format(values[key]) if key in values else "-" for _, key, fmt in CELL_COLUMNS]
        cells.add_row(name, *row)
    console.print(cells)
    for note in result.notes:
        console.print(f"[yellow]{note}[/yellow]")
