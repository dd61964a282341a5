"""The report stage's steps: trials from MLflow, the leaderboard, its files and runs.

Each function is one step of ``flows/report.py``; plain functions, testable without
Prefect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from benchlab.config.base import Frozen
from benchlab.settings import Settings

if TYPE_CHECKING:
    import pandas as pd

    from benchlab.report.build import ReportData


class ReportRequest(Frozen):
    """Which trials the report covers."""

    experiment: str | None = None
    """MLflow experiment; default the configured one."""

    sweep: str | None = None
    """Only this sweep's trials; default every trial of the experiment."""

    level: float = Field(default=0.95, gt=0.5, lt=1)
    """Confidence level of the intervals."""


@dataclass(frozen=True)
class ReportOutcome:
    """Where the report went."""

    html_path: Path
    run_id: str
    trials: int
    configurations: int


def collect(settings: Settings, request: ReportRequest) -> pd.DataFrame:
    """One row per trial run of the experiment (and sweep)."""
    from benchlab.report.collect import search_trials
    from benchlab.tracking import setup_tracking

    setup_tracking(settings)
    return search_trials(request.experiment or settings.mlflow_experiment, request.sweep)


def build(settings: Settings, request: ReportRequest, trials: pd.DataFrame) -> ReportData:
    """The leaderboard and its views, with costs from ``models.yaml`` when it exists."""
    from benchlab.config import load_models
    from benchlab.report.build import build_report
    from benchlab.report.cost import Prices

    prices = None
    if settings.models_file.is_file():
        prices = Prices.from_models(load_models(settings.models_file))
    return build_report(
        trials,
        experiment=request.experiment or settings.mlflow_experiment,
        sweep=request.sweep,
        prices=prices,
        level=request.level,
    )


def write_html(settings: Settings, data: ReportData) -> Path:
    """The self-contained HTML report under the data dir's ``reports/``."""
    from benchlab.report.html import render_html

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = settings.state_dir / "reports" / f"report-{data.sweep or 'all'}-{stamp}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(data))
    return path


def markdown(data: ReportData) -> str:
    """The leaderboard as markdown, for the Prefect artifact."""
    from benchlab.report.formats import render_markdown

    return render_markdown(data)


def log_run(data: ReportData, html_path: Path) -> str:
    """The report as its own MLflow run with the HTML, CSV, JSON and markdown."""
    from benchlab.report.publish import log_report_to_mlflow

    return log_report_to_mlflow(data, html_path.read_text())
