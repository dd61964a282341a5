"""The simulate flow on the real small model with scripted agents: every trial recorded
exactly once with a clear status, limits and faults included, and a rerun that resumes.

The faults (engine killed or failing to start, flow killed and rerun) are in
``tests/faults``."""

from __future__ import annotations

import pytest

from benchlab.config.simulate import SimulateRequest
from benchlab.settings import Settings
from tests.fixtures.simulate import trial_runs

pytestmark = pytest.mark.slow


def test_sweep_statuses_records_and_resume(sim_settings: Settings, prefect_harness: None) -> None:
    import mlflow
    from mlflow import MlflowClient

    from flows.simulate import simulate

    request = SimulateRequest(
        tasks=("guarded", "unreachable", "missing-check"),
        agents=("script-solve", "script-tamper", "script-hang"),
        name="faults",
    )
    summary = simulate(request, sim_settings)
    assert (summary.planned, summary.skipped, summary.ran) == (9, 0, 9)

    runs = trial_runs(sim_settings, "faults")
    by_key = {r.data.tags["trial_key"]: r for r in runs}
    assert len(runs) == len(by_key) == 9

    def outcome(task: str, agent: str) -> tuple[str, str]:
        run = next(r for k, r in by_key.items() if f"/{task}/script-{agent}/" in k)
        return run.data.tags["status"], run.data.tags.get("reason", "")

    assert outcome("guarded", "solve") == ("passed", "")
    status, reason = outcome("guarded", "tamper")
    assert status == "failed" and "tampered" in reason and "test_calc.py" in reason
    status, reason = outcome("guarded", "hang")
    assert status == "timeout" and reason.startswith("stuck:")
    for agent in ("solve", "tamper", "hang"):
        status, reason = outcome("unreachable", agent)
        assert status == "error" and "cannot check out the task repository" in reason
    status, reason = outcome("missing-check", "solve")
    assert status == "failed" and reason == "checks failed: lint"

    tampered = next(r for k, r in by_key.items() if "/guarded/script-tamper/" in k)
    assert tampered.data.tags["tampered"] == "true"
    # Checks ran against the pristine test file: the tests still ran and passed.
    assert tampered.data.metrics["checks.passed"] == 2.0

    # Trials nest under the sweep's run, each with one trace whose LLM spans are the
    # gateway's calls, and whose tokens are the server's own count.
    sweep_run = MlflowClient().get_run(summary.sweep_run_id)
    assert sweep_run.data.tags["kind"] == "sweep"
    assert sweep_run.data.metrics["trials.passed"] == 1.0
    solved = next(r for k, r in by_key.items() if "/guarded/script-solve/" in k)
    assert solved.data.tags["mlflow.parentRunId"] == summary.sweep_run_id
    trace = mlflow.get_trace(solved.data.tags["trace_id"])
    llm = [s for s in trace.data.spans if s.span_type == "LLM"]
    assert len(llm) == 2 == solved.data.metrics["turns"]
    assert solved.data.metrics["tokens.output"] == solved.data.metrics["server.output_tokens"]
    assert solved.data.params["seed"]

    again = simulate(request, sim_settings)
    assert (again.planned, again.skipped, again.ran) == (9, 9, 0)
    assert len(trial_runs(sim_settings, "faults")) == 9
