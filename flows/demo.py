"""The demo flow: one trial end to end on the embedded defaults."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task

from benchlab import demo as steps
from benchlab.agents.pi import PiHarness
from benchlab.demo import DemoPlan
from benchlab.results import TrialResult
from benchlab.settings import Settings
from benchlab.tracing import LoggedTrial, log_trial
from benchlab.tracking import setup_tracking


@task(name="stage-model", retries=2, retry_delay_seconds=5)
def stage_model(settings: Settings, demo_plan: DemoPlan) -> Path:
    """Model file into S3 and back into the local cache, verified."""
    return steps.stage_model(settings, demo_plan)


@task(name="install-agent", retries=1, retry_delay_seconds=10)
def install_agent(settings: Settings) -> PiHarness:
    """The pinned pi agent, installed into the data directory."""
    return steps.install_agent(settings)


@task(name="run-trial")
def run_trial(
    settings: Settings, demo_plan: DemoPlan, model_file: Path, harness: PiHarness
) -> TrialResult:
    """llama-server and the gateway up, the trial through them, both stopped."""
    return steps.run_on_engine(settings, demo_plan, model_file, harness)


@task(name="record-trial")
def record_trial(settings: Settings, result: TrialResult) -> LoggedTrial:
    """One MLflow run with one trace."""
    setup_tracking(settings)
    return log_trial(result)


@flow(name="demo", log_prints=True, validate_parameters=False)
def demo(settings: Settings, demo_plan: DemoPlan) -> tuple[TrialResult, LoggedTrial]:
    """Run one trial of the planned task on a local model and log it to MLflow.

    The plan is validated before the flow starts (see :func:`benchlab.demo.plan_demo`).
    """
    model_file = stage_model(settings, demo_plan)
    harness = install_agent(settings)
    result = run_trial(settings, demo_plan, model_file, harness)
    logged = record_trial(settings, result)
    return result, logged
