"""The report flow: the leaderboard as HTML, a Prefect artifact and an MLflow run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from benchlab.report import stage
from benchlab.report.stage import ReportOutcome, ReportRequest
from benchlab.settings import Settings, get_settings

if TYPE_CHECKING:
    import pandas as pd

    from benchlab.report.build import ReportData


@task(name="collect-trials", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def collect_trials(settings: Settings, request: ReportRequest) -> pd.DataFrame:
    """Every trial run the report covers."""
    return stage.collect(settings, request)


@task(name="build-leaderboard", cache_policy=NO_CACHE)
def build_leaderboard(
    settings: Settings, request: ReportRequest, trials: pd.DataFrame
) -> ReportData:
    """Pass rates with intervals, pass@k, judges, speed, memory, cost, and the views."""
    return stage.build(settings, request, trials)


@task(name="write-html", cache_policy=NO_CACHE)
def write_html(settings: Settings, data: ReportData) -> Path:
    """The self-contained HTML report."""
    return stage.write_html(settings, data)


@task(name="publish-artifact", cache_policy=NO_CACHE)
def publish_artifact(data: ReportData) -> None:
    """The leaderboard as a markdown artifact in the Prefect UI."""
    create_markdown_artifact(
        key="leaderboard", markdown=stage.markdown(data), description="benchlab leaderboard"
    )


@task(name="log-report", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def log_report(data: ReportData, html_path: Path) -> str:
    """The report as an MLflow run beside the trials."""
    return stage.log_run(data, html_path)


@flow(name="report", log_prints=True, validate_parameters=False)
def report(request: ReportRequest, settings: Settings | None = None) -> ReportOutcome:
    """Build the leaderboard of the experiment (or one sweep) and publish it."""
    settings = settings or get_settings()
    trials = collect_trials(settings, request)
    data = build_leaderboard(settings, request, trials)
    html_path = write_html(settings, data)
    publish_artifact(data)
    run_id = log_report(data, html_path)
    return ReportOutcome(
        html_path, run_id, trials=len(data.trials), configurations=len(data.overall)
    )
