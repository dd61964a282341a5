"""A sweep's cells as flow runs on a Prefect work pool, one per target.

Workers on the GPU hosts pull the runs from the pool, each under its own concurrency,
and record trials into the shared MLflow; the sweep's flow waits for every cell's run
and then reads what was recorded, so a cell that ran anywhere is counted the same.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import Field

from benchlab.config.base import Frozen
from benchlab.config.simulate import SimulateRequest
from benchlab.errors import BenchlabError
from benchlab.simulate.plan import SimulationPlan, Target, TrialKey
from benchlab.simulate.record import SweepRun, trial_runs
from benchlab.simulate.sweep import SweepSummary, TargetOutcome

if TYPE_CHECKING:
    from uuid import UUID

CELL_FLOW = "simulate-cell"
"""The name of the per-cell flow (``flows/simulate.py:simulate_cell``)."""

POLL_S = 3.0


class CellRequest(Frozen):
    """One target of a sweep, run as its own flow run by whichever worker takes it."""

    simulate: SimulateRequest
    """The sweep's request; planned again by the worker, which gives the same plan."""

    target: str = Field(min_length=1)
    """The target's id in that plan."""

    # Not ``keys``: Prefect reads a parameter with a ``keys`` attribute as a mapping.
    trials: tuple[str, ...] = ()
    """Keys of the target's trials to run (the others are recorded already)."""

    sweep_run_id: str = Field(min_length=1)
    """The sweep's parent MLflow run, which trial runs are nested under."""

    experiment_id: str = Field(min_length=1)
    """The MLflow experiment of the sweep."""


@dataclass(frozen=True)
class CellRuns:
    """The flow runs a sweep sent to its work pool."""

    pool: str
    runs: dict[str, UUID]
    """Target id to flow run id."""


def deployment_name(pool: str) -> str:
    """The per-cell deployment that ``benchlab serve`` puts on ``pool``."""
    return f"{CELL_FLOW}/{pool}"


@dataclass(frozen=True)
class CellTarget:
    """A cell's target in the worker's plan."""

    target: Target
    keys: list[TrialKey]
    """The trials it was sent to run."""

    @property
    def pending(self) -> dict[str, list[TrialKey]]:
        """Trials to run by target id, as the simulate steps take them: this one's only."""
        return {self.target.id: self.keys}


def cell_target(plan: SimulationPlan, cell: CellRequest) -> CellTarget:
    """The cell's target in the worker's plan, and the trials it was sent to run.

    Raises:
        BenchlabError: The worker's configuration plans no such target or trials (its
            ``models.yaml`` or tasks differ from the sender's).
    """
    target = next((t for t in plan.targets if t.id == cell.target), None)
    if target is None:
        raise BenchlabError(
            f"target {cell.target} is not in this worker's plan of sweep {plan.sweep_id}: "
            "its models.yaml or tasks differ from the sender's"
        )
    keys = [k for k in plan.keys(target) if k.text in set(cell.trials)]
    if len(keys) != len(cell.trials):
        raise BenchlabError(f"target {cell.target}: some trials are not in this worker's plan")
    return CellTarget(target, keys)


def submit_cells(
    plan: SimulationPlan, sweep: SweepRun, pending: dict[str, list[TrialKey]], pool: str
) -> CellRuns:
    """One flow run of the per-cell deployment for each target with trials to run.

    Raises:
        BenchlabError: The pool has no per-cell deployment (``benchlab serve`` makes it).
    """
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    runs: dict[str, UUID] = {}
    for target in plan.targets:
        keys = pending[target.id]
        if not keys:
            continue
        cell = CellRequest(
            simulate=plan.request,
            target=target.id,
            trials=tuple(k.text for k in keys),
            sweep_run_id=sweep.run_id,
            experiment_id=sweep.experiment_id,
        )
        try:
            run = run_deployment(
                deployment_name(pool),
                parameters={"cell": cell.model_dump(mode="json")},
                flow_run_name=f"{plan.sweep_id}-{target.id}",
                timeout=0,
                tags=[f"sweep:{plan.sweep_id}", f"cell:{target.id}"],
            )
        except ObjectNotFound:
            raise BenchlabError(
                f"work pool {pool!r} has no deployment {deployment_name(pool)!r}: "
                f"start `benchlab serve --pool {pool}` first"
            ) from None
        assert isinstance(run, FlowRun)  # the sync form, called outside an event loop
        runs[target.id] = run.id
    return CellRuns(pool, runs)


def wait_for_cells(cells: CellRuns) -> dict[str, str]:
    """Wait until every cell's flow run is final; target id to its final state's name."""
    from prefect.client.orchestration import get_client

    states: dict[str, str] = {}
    with get_client(sync_client=True) as client:
        while len(states) < len(cells.runs):
            for target, run_id in cells.runs.items():
                if target in states:
                    continue
                state = client.read_flow_run(run_id).state
                if state is not None and state.is_final():
                    states[target] = str(state.name)
            if len(states) < len(cells.runs):
                time.sleep(POLL_S)
    return states


def recorded_outcomes(
    plan: SimulationPlan, sweep: SweepRun, pending: dict[str, list[TrialKey]]
) -> list[TargetOutcome]:
    """What each target's cell recorded, read back from MLflow."""
    from mlflow import MlflowClient

    target_of = {k.text: tid for tid, keys in pending.items() for k in keys}
    outcomes = {t.id: TargetOutcome(t.id) for t in plan.targets}
    for run in trial_runs(MlflowClient(), sweep.experiment_id, plan.sweep_id):
        tags = run.data.tags
        target = target_of.get(tags.get("trial_key", ""))
        if target is None or run.info.status != "FINISHED" or "status" not in tags:
            continue
        outcomes[target].statuses[tags["status"]] += 1
        outcomes[target].run_ids.append(run.info.run_id)
    return [outcomes[t.id] for t in plan.targets]


def check_cells(summary: SweepSummary, states: dict[str, str]) -> SweepSummary:
    """The summary when every cell's flow run completed.

    Raises:
        BenchlabError: Some did not (crashed worker, cancelled run); their trials that
            were not recorded are run by the next run of the same sweep.
    """
    failed = Counter(name for name in states.values() if name != "Completed")
    if failed:
        counts = ", ".join(f"{n} {name}" for name, n in sorted(failed.items()))
        raise BenchlabError(
            f"sweep {summary.sweep_id}: {sum(failed.values())} of {len(states)} cells did not"
            f" complete ({counts}); {summary.ran} trials recorded; run it again to resume"
        )
    return summary
