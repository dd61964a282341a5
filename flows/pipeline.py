"""The pipeline flow: download, simulate, curate, evaluate and report, chained.

Each stage runs as a subflow and hands its named result to the next; a stage that
fails stops the chain and fails the pipeline with the stage's name and message. Every
stage is idempotent, so running the same request again resumes where it stopped.
"""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from benchlab import pipeline as chain
from benchlab.pipeline import PipelineRequest, PipelineResult, run_stage
from benchlab.settings import Settings, get_settings
from flows.curate import curate
from flows.download import download
from flows.evaluate import evaluate
from flows.report import report
from flows.simulate import simulate

DEFAULT = PipelineRequest()


@task(name="check-request", cache_policy=NO_CACHE)
def check_request(settings: Settings, request: PipelineRequest) -> list[str]:
    """Configuration and request validated before any stage; the sweep's local models."""
    return chain.local_models(settings, request)


@flow(name="pipeline", log_prints=True, validate_parameters=False)
def pipeline(
    request: PipelineRequest = DEFAULT, settings: Settings | None = None
) -> PipelineResult:
    """Run the whole chain for one sweep: its models into the bucket, its trials, their
    curation into a dataset version, that version scored, and the sweep's leaderboard.

    Args:
        request: The sweep and the options of each stage after it.
        settings: benchlab settings; default read from the environment.
    """
    # A run started from the Prefect UI passes the form's values as a plain dict.
    request = PipelineRequest.model_validate(request)
    settings = settings or get_settings()
    models = check_request(settings, request)
    downloaded = (
        run_stage("download", download, models, None, None, False, settings)
        if request.download and models
        else None
    )
    swept = run_stage("simulate", simulate, request.simulate, settings)
    curated = run_stage("curate", curate, chain.curate_filters(swept), request.curate, settings)
    scored = (
        run_stage("evaluate", evaluate, chain.evaluate_request(request, curated), settings)
        if request.evaluate
        else None
    )
    reported = run_stage("report", report, chain.report_request(request, swept), settings)
    return PipelineResult(downloaded, swept, curated, scored, reported)
