"""Scoring a dataset version with ``mlflow.genai.evaluate`` in one evaluation run.

The records are handed to MLflow together with their trials' traces (a ``trace``
column): MLflow then links each trace to the evaluation run and logs every scorer's
feedback as an assessment on that trace, rather than on a new trace of its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from benchlab.curate.version import DatasetRef
from benchlab.evaluate.judge_server import judge_model
from benchlab.evaluate.judges import JudgeKit, JudgeSet
from benchlab.evaluate.request import EvaluateRequest
from benchlab.evaluate.scorers import build_scorers, unreturned
from benchlab.evaluate.tally import Tally
from benchlab.settings import Settings

if TYPE_CHECKING:
    from mlflow.entities import Trace

EVALUATION_KIND = "evaluation"
"""The ``kind`` tag of an evaluation run."""


@dataclass(frozen=True)
class TrialTrace:
    """A record's trial: its run and its trace."""

    trial_id: str
    run_id: str
    trace_id: str
    config: str
    """``model/quant/cell`` of the trial."""


@dataclass
class Scoring:
    """What one scoring produced, before it is published."""

    run_id: str
    """The evaluation run."""
    trials: list[TrialTrace]
    tally: Tally
    wall_s: float
    judge_identity: str
    endpoint_model: str
    skipped: list[str] = field(default_factory=list)
    """Trials left out: their trace could not be read."""


def _trace(trace_id: str) -> Trace | None:
    import mlflow

    return mlflow.get_trace(trace_id, silent=True) if trace_id else None


def _trial(record: dict[str, Any], trace: Trace) -> TrialTrace:
    from mlflow.tracing.constant import TraceMetadataKey

    tags = record.get("tags") or {}
    run_id = str(tags.get("run_id") or trace.info.trace_metadata.get(TraceMetadataKey.SOURCE_RUN))
    config = "/".join(str(tags.get(k) or "-") for k in ("model", "quant", "cell"))
    return TrialTrace(str(record["inputs"]["trial_id"]), run_id, trace.info.trace_id, config)


def score(
    settings: Settings,
    request: EvaluateRequest,
    ref: DatasetRef,
    curation_run_id: str,
    records: list[dict[str, Any]],
    judges: JudgeSet,
    experiment_id: str,
) -> Scoring:
    """Score every record on each of its criteria, in a new evaluation run.

    The run is left open (status RUNNING) until the aggregates are logged, so that an
    evaluation cut short is never taken for a finished one.
    """
    import mlflow
    import pandas as pd
    from mlflow import MlflowClient

    rows: list[dict[str, Any]] = []
    trials: list[TrialTrace] = []
    skipped: list[str] = []
    for record in records:
        trace = _trace(str((record.get("tags") or {}).get("trace_id") or ""))
        if trace is None:
            skipped.append(str(record["inputs"]["trial_id"]))
            continue
        trials.append(_trial(record, trace))
        rows.append({"inputs": record["inputs"], "outputs": record["outputs"],
                     "expectations": record["expectations"], "trace": trace})  # fmt: skip
    client = MlflowClient()
    run = client.create_run(
        experiment_id,
        run_name=f"evaluate {ref}",
        tags={
            "kind": EVALUATION_KIND,
            "dataset": ref.name,
            "dataset_version": ref.version,
            "curation_run_id": curation_run_id,
        },
    )
    run_id = run.info.run_id
    tally = Tally()
    with judge_model(settings, request) as judge:
        kit = JudgeKit.bind(judges, judge.endpoint)
        start = time.perf_counter()
        if rows:
            with mlflow.start_run(run_id=run_id):
                mlflow.genai.evaluate(
                    data=pd.DataFrame(rows), scorers=build_scorers(kit, rows, tally)
                )
            # Leaving start_run marked the run finished; it is not finished until published.
            client.update_run(run_id, status="RUNNING")
            unreturned(kit, rows, tally)
        wall = time.perf_counter() - start
    return Scoring(run_id, trials, tally, wall, judge.identity, judge.endpoint.model, skipped)
