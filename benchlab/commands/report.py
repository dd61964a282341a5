"""``benchlab report`` and ``benchlab compare``: the leaderboard and A/B tests of configurations.

A configuration is named ``model[:quant][@cell][+harness]``: ``qwen3-8b`` when the
model has one configuration, ``qwen3-8b:Q4_K_M`` to pick a quant, ``@3f2a9c`` (a
prefix of the cell id) to pick an engine cell, ``+pi`` to pick a harness.
"""

from __future__ import annotations

import io
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from benchlab.report.configs import SYNTAX, Config, resolve
from benchlab.settings import Settings

if TYPE_CHECKING:
    import pandas as pd

    from benchlab.report.build import ReportData
    from benchlab.report.compare import Comparison
    from benchlab.report.cost import Prices

__all__ = ["compare", "report"]


class ReportFormat(StrEnum):
    """What ``benchlab report`` writes."""

    table = "table"
    html = "html"
    json = "json"
    csv = "csv"


ExperimentOpt = Annotated[
    str | None,
    typer.Option(
        help="MLflow experiment (name or id); default the configured one.", show_default=False
    ),
]
SweepOpt = Annotated[
    str | None, typer.Option(help="Only the trials of this sweep.", show_default=False)
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="models.yaml with the prices.", show_default=False),
]


def _settings(config: Path | None) -> Settings:
    return Settings(models_file=config) if config is not None else Settings()


def _prices(settings: Settings) -> Prices | None:
    from benchlab.config import load_models
    from benchlab.report.cost import Prices

    if not settings.models_file.is_file():
        return None  # costs unknown rather than wrong
    return Prices.from_models(load_models(settings.models_file))


def _trials(settings: Settings, experiment: str | None, sweep: str | None) -> pd.DataFrame:
    from benchlab.report.collect import search_trials
    from benchlab.tracking import setup_tracking

    setup_tracking(settings)
    return search_trials(experiment or settings.mlflow_experiment, sweep)


def render(data: ReportData, format: ReportFormat) -> str:
    """The report as text in ``format`` (``table``: plain text of the rich table)."""
    from benchlab.report.formats import render_csv, render_json, rich_table
    from benchlab.report.html import render_html

    if format is ReportFormat.html:
        return render_html(data)
    if format is ReportFormat.json:
        return render_json(data)
    if format is ReportFormat.csv:
        return render_csv(data)
    buffer = io.StringIO()
    Console(file=buffer, width=200, color_system=None).print(rich_table(data))
    return buffer.getvalue()


def report(
    experiment: ExperimentOpt = None,
    sweep: SweepOpt = None,
    format: Annotated[ReportFormat, typer.Option("--format", "-f", help="Output format.")] = (
        ReportFormat.table
    ),
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file.", show_default=False)
    ] = None,
    config: ConfigOpt = None,
    log: Annotated[
        bool, typer.Option("--log/--no-log", help="Also log the report to MLflow as a run.")
    ] = False,
) -> None:
    """Build the leaderboard: pass rates with intervals, pass@k, judges, speed, memory, cost."""
    from benchlab.report.build import build_report
    from benchlab.report.publish import log_report_to_mlflow

    settings = _settings(config)
    trials = _trials(settings, experiment, sweep)
    data = build_report(
        trials,
        experiment=experiment or settings.mlflow_experiment,
        sweep=sweep,
        prices=_prices(settings),
    )
    if out is None and format is ReportFormat.table:
        from benchlab.report.formats import rich_table

        Console().print(rich_table(data))
    elif out is None:
        sys.stdout.write(render(data, format))
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render(data, format))
        Console(stderr=True).print(f"wrote {format.value} report to {out}")
    if log:
        run_id = log_report_to_mlflow(data)
        Console(stderr=True).print(f"logged the report to MLflow run {run_id}")


def _configs(trials: pd.DataFrame) -> list[Config]:
    columns = ["model", "quant", "cell", "harness"]
    return [Config(*row) for row in trials[columns].drop_duplicates().itertuples(index=False)]


def comparison_table(result: Comparison) -> Table:
    """The comparison's numbers as a rich table."""
    table = Table(title=f"{result.a} (A) vs {result.b} (B), {result.pairs} paired trials")
    for column in ("measure", "A", "B", "A - B", "p", "effect"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    n = result.pairs
    table.add_row(
        "pass rate",
        f"{result.a_passes / n:.0%}",
        f"{result.b_passes / n:.0%}",
        f"{100 * result.difference:+.0f} pts",
        f"{result.p_value:.3g}",
        f"h {result.effect:.2f}",
    )
    for s in result.scores:
        table.add_row(
            s.criterion,
            f"{s.mean_a:.2f}",
            f"{s.mean_b:.2f}",
            f"{s.difference:+.2f} [{s.low:+.2f}, {s.high:+.2f}]",
            f"{s.p_value:.3g}",
            f"d {s.effect:.2f}",
        )
    return table


def compare(
    a: Annotated[str, typer.Argument(help=f"Configuration A: {SYNTAX}.", show_default=False)],
    b: Annotated[str, typer.Argument(help=f"Configuration B: {SYNTAX}.", show_default=False)],
    experiment: ExperimentOpt = None,
    sweep: SweepOpt = None,
    alpha: Annotated[float, typer.Option(help="Significance level.", min=0.0001, max=0.5)] = 0.05,
) -> None:
    """Compare configuration A with B on the same tasks and repeats, and say whether the
    difference is real (exact McNemar for passes, paired permutation for judge scores)."""
    from benchlab.report.compare import compare as compare_configs

    settings = _settings(None)
    trials = _trials(settings, experiment, sweep)
    known = _configs(trials)
    first, second = resolve(a, known), resolve(b, known)
    result = compare_configs(trials, first.label, second.label, alpha=alpha)
    console = Console()
    console.print(comparison_table(result))
    console.print(result.sentence(), highlight=False)
    for score in result.scores:
        console.print(score.sentence(alpha), highlight=False)
