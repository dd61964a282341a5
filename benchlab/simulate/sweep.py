"""The steps of the simulate flow around the targets: agents, sandbox, resume, records.

Each function is one step of ``flows/simulate.py``; plain functions, testable
without Prefect.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from benchlab.agents.base import Harness
from benchlab.errors import AgentError
from benchlab.results import TrialResult
from benchlab.settings import Settings
from benchlab.simulate.plan import SimulationPlan, TrialKey
from benchlab.simulate.record import SweepRun
from benchlab.simulate.spool import (
    RETRY_FIRST_S,
    RETRY_MAX_S,
    SpooledTrial,
    TrialSpool,
    deliver,
    drain,
    flush,
    one_line,
)
from benchlab.simulate.target import MissingHarness, Record

log = logging.getLogger(__name__)

DRAIN_WAIT_S = 120.0
"""How long the end of a sweep waits for the tracking server to take spooled trials."""


@dataclass
class TargetOutcome:
    """What one target's run logged."""

    target: str
    statuses: Counter[str] = field(default_factory=Counter)
    """Trials run, by status."""
    run_ids: list[str] = field(default_factory=list)
    """MLflow runs logged."""
    spooled: int = 0
    """Trials whose logging failed and that went to the spool."""
    spool_root: Path | None = None
    """The sweep's spool, once a trial was spooled."""


@dataclass(frozen=True)
class SweepSummary:
    """What a simulate run did."""

    sweep_id: str
    sweep_run_id: str
    planned: int
    """Trials in the sweep."""
    skipped: int
    """Trials already recorded by an earlier run, not run again."""
    statuses: dict[str, int]
    """Trials run now, by status."""
    run_ids: tuple[str, ...]
    """MLflow runs logged now."""
    spooled: int = 0
    """Trials that waited in the spool for the tracking server."""
    unlogged: int = 0
    """Trials still in the spool at the end (the next run of the sweep logs them first)."""
    repeats: int = 1
    """Repeats asked of this run."""
    repeats_before: int | None = None
    """The sweep's repeats before this run, when they differed (see ``SweepRun``)."""

    @property
    def ran(self) -> int:
        """Trials run now."""
        return sum(self.statuses.values())


def install_agents(settings: Settings, plan: SimulationPlan) -> dict[str, Harness]:
    """Each agent of the plan installed at its pinned version; one that cannot be
    installed stands in as a :class:`MissingHarness`, so its trials end as errors."""
    from benchlab.agents.registry import harness_for

    agents: dict[str, Harness] = {}
    for name in plan.request.agents:
        harness = harness_for(name, settings, commands=plan.models.agents)
        try:
            harness.install(settings.state_dir)
        except AgentError as exc:
            agents[name] = MissingHarness(name, f"agent {name}: {str(exc).splitlines()[0]}")
            continue
        agents[name] = harness
    return agents


def pending_keys(plan: SimulationPlan, sweep: SweepRun) -> dict[str, list[TrialKey]]:
    """The trials of each target that have no finished run yet."""
    return {
        target.id: [k for k in plan.keys(target) if k.text not in sweep.recorded]
        for target in plan.targets
    }


def recorder(settings: Settings, sweep: SweepRun, outcome: TargetOutcome) -> Record:
    """A callback that logs one trial as a nested run of the sweep, and counts it.

    While the tracking server is unreachable, trials go to the sweep's spool and the
    server is tried again with backoff as later trials end; trials spooled by an earlier
    run are delivered first.
    """
    from benchlab.tracking import setup_tracking, tracking_uri

    try:
        setup_tracking(settings)
    except Exception as exc:  # down now: the flow set the experiment up already
        import mlflow

        log.warning("tracking server unreachable (%s); trials will be spooled", one_line(exc))
        mlflow.set_tracking_uri(tracking_uri(settings))
    spooling = SpoolingRecorder(settings.state_dir, sweep, outcome)
    if sweep.sweep_id:
        spooling.retry(TrialSpool.of_sweep(settings.state_dir, sweep.sweep_id))
    return spooling


class SpoolingRecorder:
    """Logs each trial exactly once; spools it while the tracking server cannot take it."""

    def __init__(self, state_dir: Path, sweep: SweepRun, outcome: TargetOutcome) -> None:
        from mlflow import MlflowClient

        self.state_dir, self.sweep, self.outcome = state_dir, sweep, outcome
        self.client = MlflowClient()
        self.failures = 0
        self.next_try = 0.0

    def __call__(self, result: TrialResult) -> None:
        """Log ``result`` (spooled trials first), or spool it."""
        spool = TrialSpool.of_sweep(self.state_dir, result.sweep)
        self.outcome.statuses[result.status.value] += 1
        entry = SpooledTrial(
            result=result,
            extra_artifacts=tuple(self._extra_artifacts(result)),
            parent_run_id=self.sweep.run_id,
            experiment_id=self.sweep.experiment_id,
        )
        error = "earlier trials are waiting for the tracking server"
        if not len(spool) or time.monotonic() >= self.next_try:
            error = self.retry(spool) or ""
            if not error:
                try:
                    self.outcome.run_ids.append(deliver(entry, self.client))
                    log.info("trial %s: %s %s", result.key, result.status.value, result.reason)
                    return
                except Exception as exc:  # unreachable tracking server, or worse: keep it
                    error = one_line(exc)
                    self._failed()
        spool.put(entry.model_copy(update={"attempts": 1, "error": error}))
        self.outcome.spooled += 1
        self.outcome.spool_root = spool.root
        log.warning("trial %s: %s; spooled until MLflow takes it (%s)", result.key,
                    result.status.value, error)  # fmt: skip

    def retry(self, spool: TrialSpool) -> str | None:
        """Deliver what ``spool`` holds; returns why it stopped, None when it is empty."""
        if not len(spool):
            return None
        delivered, error = flush(spool, self.client)
        self.outcome.run_ids.extend(delivered)
        if error is None:
            self.failures = 0
        else:
            self._failed()
        return error

    def _failed(self) -> None:
        self.failures += 1
        wait = min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** (self.failures - 1))
        self.next_try = time.monotonic() + wait

    def _extra_artifacts(self, result: TrialResult) -> list[Path]:
        extra: list[Path] = []
        if result.agent is not None and result.agent.transcript_path:
            extra.append(Path(result.agent.transcript_path))
        if result.engine is not None and result.engine.kind == "llama-server":
            extra.append(self.state_dir / "logs" / f"llama-server-{result.cell}.log")
        return extra


def drain_outcome(outcome: TargetOutcome) -> int:
    """Deliver the trials the target left in its sweep's spool, waiting up to
    :data:`DRAIN_WAIT_S` for the tracking server; returns how many stay spooled."""
    if outcome.spool_root is None:
        return 0
    delivered, left = drain(TrialSpool(outcome.spool_root), DRAIN_WAIT_S)
    outcome.run_ids.extend(delivered)
    return left


def summarize(
    plan: SimulationPlan,
    sweep: SweepRun,
    pending: dict[str, list[TrialKey]],
    outcomes: list[TargetOutcome],
) -> SweepSummary:
    """The sweep's outcome: what was skipped, what ran, and how it ended.

    Trials still spooled are delivered first, waiting up to :data:`DRAIN_WAIT_S` for the
    tracking server.
    """
    todo = sum(len(keys) for keys in pending.values())
    statuses: Counter[str] = Counter()
    for outcome in outcomes:
        statuses.update(outcome.statuses)
    left: dict[Path, int] = {}  # the targets of a sweep share its spool: drained once
    for outcome in outcomes:
        if outcome.spool_root is not None and outcome.spool_root not in left:
            left[outcome.spool_root] = drain_outcome(outcome)
    return SweepSummary(
        sweep_id=plan.sweep_id,
        sweep_run_id=sweep.run_id,
        planned=plan.size,
        skipped=plan.size - todo,
        statuses=dict(statuses),
        run_ids=tuple(r for o in outcomes for r in o.run_ids),
        spooled=sum(o.spooled for o in outcomes),
        unlogged=sum(left.values()),
        repeats=plan.request.repeats,
        repeats_before=sweep.repeats_before,
    )
