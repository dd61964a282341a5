"""The report flow on real trial runs: HTML file, Prefect artifact, MLflow run."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from benchlab.report.stage import ReportRequest
from benchlab.settings import Settings


@pytest.mark.slow
def test_report_flow_publishes_everywhere(
    report_experiment: str, prefect_harness: None, tmp_path: Path
) -> None:
    import mlflow
    from mlflow import MlflowClient
    from prefect.settings import PREFECT_API_URL

    from flows.report import report

    settings = Settings(
        data_dir=tmp_path / "data",
        models_file=tmp_path / "absent.yaml",
        mlflow_tracking_uri=mlflow.get_tracking_uri(),
        mlflow_experiment=report_experiment,
    )
    outcome = report(ReportRequest(), settings)
    assert (
        outcome.html_path.is_file() and outcome.html_path.parent == settings.state_dir / "reports"
    )
    html = outcome.html_path.read_text()
    assert "<svg" in html and "<table" in html
    assert outcome.trials > 0 and outcome.configurations > 0

    run = MlflowClient().get_run(outcome.run_id)
    assert run.data.tags["kind"] == "report"
    names = {a.path for a in MlflowClient().list_artifacts(outcome.run_id)}
    assert {"report.html", "leaderboard.csv", "leaderboard.json", "report.md"} <= names

    # The filter body in full: this server rejects the client's nulls for optional parts.
    body = {"artifacts": {"key": {"any_": ["leaderboard"]}}, "offset": 0, "limit": 5}
    body |= {"flow_runs": {}, "task_runs": {}}
    found = httpx.post(f"{PREFECT_API_URL.value()}/artifacts/filter", json=body, timeout=30)
    found.raise_for_status()
    (artifact,) = found.json()[:1]
    assert artifact["type"] == "markdown" and "|" in artifact["data"]
