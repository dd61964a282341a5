"""The known sweep logged once into the session's sqlite MLflow, in its own experiment."""

from __future__ import annotations

import time
import uuid

import pandas as pd
import pytest

from tests.report.trials import REPEATS, SPECS, SWEEP, TASKS, correctness, trial


@pytest.fixture(scope="session")
def report_experiment(mlflow_experiment: str) -> str:
    """The name of an experiment holding the known sweep, its parent run, and a trial of
    another sweep.

    Each trial's run gets exactly the tags, params and metrics that ``log_trial`` gives
    it (its trace and artifacts, which the report does not read, are left out to keep
    this fast). The API model's runs carry no ``repeat`` or ``kind`` tag, like runs
    logged before those tags existed, so that the fallbacks are exercised too.
    """
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    from benchlab.metrics import metrics_for
    from benchlab.tracing import params_for, run_name, tags_for

    name = f"report-tests-{uuid.uuid4().hex[:8]}"
    experiment_id = mlflow.create_experiment(name)
    mlflow.set_experiment(experiment_id=experiment_id)
    client = MlflowClient()
    with mlflow.start_run(run_name="sweep") as parent:
        mlflow.set_tags({"kind": "sweep", "sweep": SWEEP})
    start = time.time_ns()
    for spec in SPECS:
        for task in TASKS:
            for repeat in range(REPEATS):
                result = trial(spec, task, repeat, start)
                tags = {**tags_for(result), MLFLOW_PARENT_RUN_ID: parent.info.run_id}
                if not spec.api:
                    tags |= {"kind": "trial", "repeat": str(repeat)}
                run = client.create_run(experiment_id, run_name=run_name(result), tags=tags)
                metrics = metrics_for(result)
                # The evaluate stage adds judge scores to the trial's run afterwards.
                metrics["judge.correctness"] = correctness(result.status.value == "passed", repeat)
                client.log_batch(
                    run.info.run_id,
                    metrics=[Metric(k, v, 0, 0) for k, v in metrics.items()],
                    params=[Param(k, v) for k, v in params_for(result).items()],
                )
                client.set_terminated(run.info.run_id)
    with mlflow.start_run(run_name="other sweep"):
        mlflow.set_tags({"kind": "trial", "sweep": "another", "trial_id": "x", "model": "m"})
    mlflow.set_experiment(experiment_id=mlflow_experiment)
    return name


@pytest.fixture(scope="session")
def trials(report_experiment: str) -> pd.DataFrame:
    """The known sweep's trial table, read back from MLflow."""
    from benchlab.report.collect import search_trials

    return search_trials(report_experiment, sweep=SWEEP)
