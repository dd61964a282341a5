"""More repeats extend a sweep, and say so: the sweep's id leaves repeats out."""

from __future__ import annotations

from mlflow import MlflowClient
from rich.console import Console

from benchlab.commands.simulate import print_sweep
from benchlab.config.simulate import SimulateRequest
from benchlab.settings import Settings
from benchlab.simulate.plan import plan_simulation
from benchlab.simulate.record import open_sweep
from benchlab.simulate.sweep import SweepSummary
from benchlab.tracking import setup_tracking


def _open(settings: Settings, repeats: int):  # type: ignore[no-untyped-def]
    request = SimulateRequest(
        tasks=("guarded",), agents=("script-solve",), repeats=repeats, name="growing"
    )
    plan = plan_simulation(settings, request)
    return plan, open_sweep(plan, setup_tracking(settings))


def test_more_repeats_extend_the_same_sweep_and_say_so(sim_settings: Settings) -> None:
    plan, first = _open(sim_settings, 2)
    assert first.repeats_before is None
    plan4, more = _open(sim_settings, 4)
    assert plan4.sweep_id == plan.sweep_id and more.run_id == first.run_id
    assert more.repeats_before == 2
    assert MlflowClient().get_run(more.run_id).data.tags["sweep.repeats"] == "4"
    _, fewer = _open(sim_settings, 3)
    assert fewer.repeats_before == 4
    assert MlflowClient().get_run(more.run_id).data.tags["sweep.repeats"] == "4"
    _, same = _open(sim_settings, 4)
    assert same.repeats_before is None

    console = Console(record=True, width=100)
    summary = SweepSummary(
        sweep_id=plan.sweep_id, sweep_run_id=more.run_id, planned=4, skipped=2,
        statuses={"passed": 2}, run_ids=(), repeats=4, repeats_before=2,
    )  # fmt: skip
    print_sweep(console, sim_settings, summary)
    assert f"extending sweep {plan.sweep_id} from 2 to 4 repeats" in console.export_text()
