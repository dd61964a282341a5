"""The report as artifacts of its own MLflow run, beside the trials it summarizes."""

from __future__ import annotations

from benchlab.report.build import ReportData
from benchlab.report.collect import experiment_id
from benchlab.report.formats import render_csv, render_json, render_markdown
from benchlab.report.html import render_html


def log_report_to_mlflow(data: ReportData, html: str | None = None) -> str:
    """Log the report as a run (tag ``kind=report``) in the experiment it summarizes.

    The run holds ``report.html``, ``leaderboard.csv``, ``leaderboard.json`` and
    ``report.md``; it carries no ``trial_id``, so a later report leaves it out. MLflow
    must already point at the tracking store.

    Args:
        data: The report.
        html: Its HTML when already rendered; rendered here otherwise.

    Returns:
        The run id.
    """
    import mlflow

    tags = {"kind": "report", **({"sweep": data.sweep} if data.sweep else {})}
    with mlflow.start_run(
        experiment_id=experiment_id(data.experiment),
        run_name=f"report {data.sweep or 'all trials'}",
        tags=tags,
    ) as run:
        mlflow.log_text(html if html is not None else render_html(data), "report.html")
        mlflow.log_text(render_csv(data), "leaderboard.csv")
        mlflow.log_text(render_json(data), "leaderboard.json")
        mlflow.log_text(render_markdown(data), "report.md")
        mlflow.log_metrics(
            {"report.trials": float(len(data.trials)), "report.configs": float(len(data.overall))}
        )
    return str(run.info.run_id)
