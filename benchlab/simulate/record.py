"""The sweep in MLflow: one parent run per sweep, and which trials it already holds."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchlab.results import TrialStatus
from benchlab.simulate.plan import SimulationPlan
from benchlab.simulate.spool import TrialSpool, flush

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Param, Run

log = logging.getLogger(__name__)

TERMINAL = tuple(s.value for s in TrialStatus)


@dataclass(frozen=True)
class SweepRun:
    """The sweep's parent run and the trials it holds."""

    run_id: str
    experiment_id: str
    recorded: frozenset[str]
    """Keys of trials with a finished run."""
    removed: int = 0
    """Runs of trials that never finished logging, deleted so they can be redone."""
    sweep_id: str = ""
    """The sweep's id; empty when the run was joined by id alone."""
    delivered: int = 0
    """Trials spooled by an earlier run (the tracking server was down) logged now."""
    repeats_before: int | None = None
    """The repeats the sweep had before this run, when it already existed with other
    repeats: more repeats extend a sweep (its id leaves repeats out), fewer run a part."""


def open_sweep(plan: SimulationPlan, experiment_id: str, state_dir: Path | None = None) -> SweepRun:
    """Find (or create) the sweep's parent run and list the trials already recorded.

    With ``state_dir``, trials that an earlier run spooled there (the tracking server was
    unreachable when they ended) are logged first, so they count as recorded and are
    not run again. A trial counts as recorded when its run finished with a status tag. A
    run that was cut while being logged (the process was killed) is deleted, so that the
    trial is run again and exists exactly once.
    """
    from mlflow import MlflowClient

    client = MlflowClient()
    sweep = plan.sweep_id
    parents = client.search_runs(
        [experiment_id], f"tags.kind = 'sweep' and tags.sweep = '{sweep}'", max_results=1
    )
    repeats_before = None
    if parents:
        run_id = parents[0].info.run_id
        client.update_run(run_id, status="RUNNING")
        # The tag (mutable) follows the largest repeats asked; the param keeps the first.
        known = parents[0].data.tags.get("sweep.repeats") or parents[0].data.params.get(
            "sweep.repeats", ""
        )
        if known.isdigit() and int(known) != plan.request.repeats:
            repeats_before = int(known)
            log.warning(
                "%s sweep %s from %d to %d repeats",
                "extending" if plan.request.repeats > repeats_before else "running",
                sweep,
                repeats_before,
                plan.request.repeats,
            )
            if plan.request.repeats > repeats_before:
                client.set_tag(run_id, "sweep.repeats", str(plan.request.repeats))
    else:
        run = client.create_run(
            experiment_id,
            run_name=f"sweep {sweep}",
            tags={"kind": "sweep", "sweep": sweep},
        )
        run_id = run.info.run_id
        client.log_batch(run_id, params=_params(plan))
    delivered: list[str] = []
    if state_dir is not None:
        spool = TrialSpool.of_sweep(state_dir, sweep)
        delivered, error = flush(spool, client)
        if error is not None:
            # Not fatal: a trial left spooled is run again, and delivery of the spooled
            # copy later finds the new run and drops itself.
            log.warning("%d spooled trials not logged yet: %s", len(spool), error)
    recorded: set[str] = set()
    removed = 0
    for trial in trial_runs(client, experiment_id, sweep):
        key = trial.data.tags.get("trial_key", "")
        finished = trial.info.status == "FINISHED" and trial.data.tags.get("status") in TERMINAL
        if finished and key not in recorded:
            recorded.add(key)
        else:
            client.delete_run(trial.info.run_id)
            removed += 1
    return SweepRun(
        run_id,
        experiment_id,
        frozenset(recorded),
        removed,
        sweep,
        delivered=len(delivered),
        repeats_before=repeats_before,
    )


def close_sweep(sweep: SweepRun, counts: dict[str, int]) -> None:
    """Record the sweep's outcome counts on its parent run and mark it finished.

    The counts are of the whole sweep, as MLflow holds it (trials recorded by earlier,
    interrupted runs included); ``counts`` (this run's) stand in when the run was joined
    without its sweep id.
    """
    import time

    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient()
    totals = Counter(counts)
    if sweep.sweep_id:
        totals = Counter(
            run.data.tags["status"]
            for run in trial_runs(client, sweep.experiment_id, sweep.sweep_id)
            if run.info.status == "FINISHED" and run.data.tags.get("status") in TERMINAL
        )
    stamp = int(time.time() * 1000)
    client.log_batch(
        sweep.run_id,
        metrics=[Metric(f"trials.{k}", float(v), stamp, 0) for k, v in sorted(totals.items())],
    )
    client.set_terminated(sweep.run_id, status="FINISHED")


def _params(plan: SimulationPlan) -> list[Param]:
    from mlflow.entities import Param

    request = plan.request
    values = {
        "sweep.tasks": ",".join(request.tasks),
        "sweep.models": ",".join(sorted({t.model.name for t in plan.targets})),
        "sweep.targets": str(len(plan.targets)),
        "sweep.agents": ",".join(request.agents),
        "sweep.repeats": str(request.repeats),
        "sweep.engine": ";".join(request.engine),
        "sweep.trials": str(plan.size),
    }
    return [Param(k, v[:500]) for k, v in values.items()]


def trial_runs(client: MlflowClient, experiment_id: str, sweep: str) -> list[Run]:
    """Every trial run of the sweep, whatever its state."""
    runs: list[Run] = []
    token = None
    while True:
        page = client.search_runs(
            [experiment_id],
            f"tags.kind = 'trial' and tags.sweep = '{sweep}'",
            max_results=1000,
            page_token=token,
        )
        runs.extend(page)
        token = page.token
        if not token:
            return runs
