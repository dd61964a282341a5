"""The simulate flow: every trial of a sweep, each recorded once, resumable."""

from __future__ import annotations

from prefect import flow, task

from benchlab.agents.base import Harness
from benchlab.config.simulate import SimulateRequest
from benchlab.services.guardian import guard
from benchlab.settings import Settings, get_settings
from benchlab.simulate import fanout, record, sandboxes, slots, stage, sweep
from benchlab.simulate import plan as planning
from benchlab.simulate.fanout import CellRequest, CellRuns
from benchlab.simulate.plan import SimulationPlan, Target, TrialKey
from benchlab.simulate.record import SweepRun
from benchlab.simulate.sandboxes import SandboxChoice
from benchlab.simulate.stage import StagedModels
from benchlab.simulate.sweep import SweepSummary, TargetOutcome
from benchlab.simulate.target import run_target
from benchlab.tracking import setup_tracking


@task(name="plan-sweep")
def plan_sweep(settings: Settings, request: SimulateRequest) -> SimulationPlan:
    """Validate the configuration and expand the sweep into targets and trials."""
    return planning.plan_simulation(settings, request)


@task(name="open-sweep", retries=2, retry_delay_seconds=5)
def open_sweep(settings: Settings, sweep_plan: SimulationPlan) -> SweepRun:
    """The sweep's parent run, and the trials it already holds."""
    return record.open_sweep(sweep_plan, setup_tracking(settings), settings.state_dir)


@task(name="find-pending")
def find_pending(sweep_plan: SimulationPlan, sweep_run: SweepRun) -> dict[str, list[TrialKey]]:
    """The trials of each target not recorded yet."""
    return sweep.pending_keys(sweep_plan, sweep_run)


@task(name="stage-models", retries=2, retry_delay_seconds=10)
def stage_models(
    settings: Settings, sweep_plan: SimulationPlan, pending: dict[str, list[TrialKey]]
) -> StagedModels:
    """Every local model with trials to run, into the verified cache."""
    return stage.stage_models(settings, sweep_plan, pending)


@task(name="install-agents", retries=1, retry_delay_seconds=10)
def install_agents(settings: Settings, sweep_plan: SimulationPlan) -> dict[str, Harness]:
    """Every agent of the sweep at its pinned version."""
    return sweep.install_agents(settings, sweep_plan)


@task(name="choose-sandbox")
def choose_sandbox(settings: Settings, sweep_plan: SimulationPlan) -> SandboxChoice:
    """Docker when a daemon answers with the agent image (or when asked), else local."""
    return sandboxes.choose_sandbox(settings, sweep_plan)


@task(name="run-target", task_run_name="run-target-{target.id}")
def run_cell(
    settings: Settings,
    sweep_plan: SimulationPlan,
    target: Target,
    keys: list[TrialKey],
    models: StagedModels,
    agents: dict[str, Harness],
    sandbox: SandboxChoice,
    sweep_run: SweepRun,
) -> TargetOutcome:
    """One engine up, its trials through it, each logged as it ends; a local engine only
    while this host's engine (or one GPU's) concurrency slot is held."""
    model_key = (target.model.name, target.quant)
    outcome = TargetOutcome(target.id)
    with slots.engine_slot(settings, needed=target.cell is not None) as slot:
        run_target(
            slots.pinned(settings, slot),
            sweep_plan,
            target,
            keys,
            agents=agents,
            sandbox=sandbox,
            model_file=models.files.get(model_key),
            staging_error=models.failures.get(model_key),
            record=sweep.recorder(settings, sweep_run, outcome),
        )
    # A cell run by a worker never reaches the sweep's summary, which drains the spool.
    sweep.drain_outcome(outcome)
    return outcome


@task(name="send-cells", retries=2, retry_delay_seconds=5)
def send_cells(
    sweep_plan: SimulationPlan,
    sweep_run: SweepRun,
    pending: dict[str, list[TrialKey]],
    pool: str,
) -> CellRuns:
    """Each target with trials to run as a flow run on the work pool."""
    return fanout.submit_cells(sweep_plan, sweep_run, pending, pool)


@task(name="wait-for-cells")
def wait_for_cells(cells: CellRuns) -> dict[str, str]:
    """Every cell's flow run to its end, wherever a worker ran it."""
    return fanout.wait_for_cells(cells)


@task(name="read-outcomes", retries=2, retry_delay_seconds=5)
def read_outcomes(
    sweep_plan: SimulationPlan, sweep_run: SweepRun, pending: dict[str, list[TrialKey]]
) -> list[TargetOutcome]:
    """What the cells recorded, read back from MLflow."""
    return fanout.recorded_outcomes(sweep_plan, sweep_run, pending)


@task(name="check-cells")
def check_cells(summary: SweepSummary, states: dict[str, str]) -> SweepSummary:
    """The summary, or a failure naming the cells whose flow runs did not complete."""
    return fanout.check_cells(summary, states)


@task(name="join-sweep", retries=2, retry_delay_seconds=5)
def join_sweep(settings: Settings, sweep_plan: SimulationPlan, cell: CellRequest) -> SweepRun:
    """The sweep's parent run that the sender opened, with tracking set up here."""
    setup_tracking(settings)
    return SweepRun(
        cell.sweep_run_id, cell.experiment_id, frozenset(), sweep_id=sweep_plan.sweep_id
    )


@task(name="pick-target")
def pick_target(sweep_plan: SimulationPlan, cell: CellRequest) -> fanout.CellTarget:
    """The cell's target and trials in this worker's plan."""
    return fanout.cell_target(sweep_plan, cell)


@task(name="close-sweep", retries=2, retry_delay_seconds=5)
def close_sweep(
    sweep_plan: SimulationPlan,
    sweep_run: SweepRun,
    pending: dict[str, list[TrialKey]],
    outcomes: list[TargetOutcome],
) -> SweepSummary:
    """Outcome counts on the sweep's run; the run marked finished."""
    summary = sweep.summarize(sweep_plan, sweep_run, pending, outcomes)
    record.close_sweep(sweep_run, summary.statuses)
    return summary


@flow(name="simulate", log_prints=True, validate_parameters=False)
def simulate(request: SimulateRequest, settings: Settings | None = None) -> SweepSummary:
    """Run every trial of the sweep that is not recorded yet: targets one after another,
    each target's trials concurrently up to its engine's slots; or, with a work pool,
    each target as a ``simulate-cell`` flow run there, all at once."""
    # A run started from the Prefect UI passes the form's values as a plain dict.
    request = SimulateRequest.model_validate(request)
    settings = settings or get_settings()
    guard(settings.state_dir)  # what this flow run starts dies with it, however it dies
    sweep_plan = plan_sweep(settings, request)
    sweep_run = open_sweep(settings, sweep_plan)
    pending = find_pending(sweep_plan, sweep_run)
    if request.work_pool:
        cells = send_cells(sweep_plan, sweep_run, pending, request.work_pool)
        states = wait_for_cells(cells)
        outcomes = read_outcomes(sweep_plan, sweep_run, pending)
        summary = close_sweep(sweep_plan, sweep_run, pending, outcomes)
        return check_cells(summary, states)
    models = stage_models(settings, sweep_plan, pending)
    agents = install_agents(settings, sweep_plan)
    sandbox = choose_sandbox(settings, sweep_plan)
    outcomes = [
        run_cell(
            settings, sweep_plan, target, pending[target.id], models, agents, sandbox, sweep_run
        )
        for target in sweep_plan.targets
    ]
    return close_sweep(sweep_plan, sweep_run, pending, outcomes)


@flow(name=fanout.CELL_FLOW, log_prints=True, validate_parameters=False)
def simulate_cell(cell: CellRequest, settings: Settings | None = None) -> TargetOutcome:
    """One target of a sweep, sent by ``simulate`` to a work pool: its engine up on this
    host, its trials through it, each recorded under the sweep's run."""
    cell = CellRequest.model_validate(cell)
    settings = settings or get_settings()
    guard(settings.state_dir)  # a worker's flow run: its engine dies with it
    sweep_plan = plan_sweep(settings, cell.simulate)
    sweep_run = join_sweep(settings, sweep_plan, cell)
    chosen = pick_target(sweep_plan, cell)
    models = stage_models(settings, sweep_plan, chosen.pending)
    agents = install_agents(settings, sweep_plan)
    sandbox = choose_sandbox(settings, sweep_plan)
    return run_cell(
        settings, sweep_plan, chosen.target, chosen.keys, models, agents, sandbox, sweep_run
    )
