"""The steps of the simulate flow around the targets: agents, sandbox, resume, records.

Each function is one step of ``flows/simulate.py``; plain functions, testable
without Prefect.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from benchlab.agents.base import Harness
from benchlab.errors import AgentError
from benchlab.results import TrialResult
from benchlab.settings import Settings
from benchlab.simulate.plan import SimulationPlan, TrialKey
from benchlab.simulate.record import SweepRun
from benchlab.simulate.target import MissingHarness, Record
from benchlab.tracing import log_trial

log = logging.getLogger(__name__)


@dataclass
class TargetOutcome:
    """What one target's run logged."""

    target: str
    statuses: Counter[str] = field(default_factory=Counter)
    """Trials run, by status."""
    run_ids: list[str] = field(default_factory=list)
    """MLflow runs logged."""


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
    """A callback that logs one trial as a nested run of the sweep, and counts it."""
    from benchlab.tracking import setup_tracking

    setup_tracking(settings)

    def record(result: TrialResult) -> None:
        extra: list[Path] = []
        if result.agent is not None and result.agent.transcript_path:
            extra.append(Path(result.agent.transcript_path))
        engine_log = settings.state_dir / "logs" / f"llama-server-{result.cell}.log"
        if result.engine is not None and result.engine.kind == "llama-server":
            extra.append(engine_log)
        logged = log_trial(result, extra_artifacts=extra, parent_run_id=sweep.run_id)
        outcome.statuses[result.status.value] += 1
        outcome.run_ids.append(logged.run_id)
        log.info("trial %s: %s %s", result.key, result.status.value, result.reason)

    return record


def summarize(
    plan: SimulationPlan,
    sweep: SweepRun,
    pending: dict[str, list[TrialKey]],
    outcomes: list[TargetOutcome],
) -> SweepSummary:
    """The sweep's outcome: what was skipped, what ran, and how it ended."""
    todo = sum(len(keys) for keys in pending.values())
    statuses: Counter[str] = Counter()
    for outcome in outcomes:
        statuses.update(outcome.statuses)
    return SweepSummary(
        sweep_id=plan.sweep_id,
        sweep_run_id=sweep.run_id,
        planned=plan.size,
        skipped=plan.size - todo,
        statuses=dict(statuses),
        run_ids=tuple(r for o in outcomes for r in o.run_ids),
    )
