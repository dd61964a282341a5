"""The simulate flow on the real small model with scripted agents: every trial recorded
exactly once with a clear status, limits and faults included, and a rerun that resumes."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import psutil
import pytest

from benchlab.settings import Settings
from benchlab.simulate.request import SimulateRequest

pytestmark = pytest.mark.slow


def trial_runs(settings: Settings, sweep: str) -> list:  # type: ignore[type-arg]
    from mlflow import MlflowClient

    from benchlab.tracking import setup_tracking

    experiment = setup_tracking(settings)
    return MlflowClient().search_runs(
        [experiment], f"tags.kind = 'trial' and tags.sweep = '{sweep}'", max_results=1000
    )


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


def _llama_servers(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if "llama-server" in cmdline and str(data_dir) in cmdline:
            found.append(proc)
    return found


def test_engine_killed_mid_trial(
    sim_settings: Settings, prefect_harness: None, tmp_path: Path
) -> None:
    from flows.simulate import simulate

    gate = tmp_path / "gate"  # the pause agent waits while this file exists
    killed: list[int] = []
    done = threading.Event()

    def killer() -> None:
        # At the first pause, kill the engine; let every later pause go at once.
        while not done.is_set():
            if gate.exists():
                if not killed:
                    for proc in _llama_servers(sim_settings.state_dir):
                        killed.append(proc.pid)
                        proc.kill()
                        proc.wait(10)
                gate.unlink()
            done.wait(0.05)

    watcher = threading.Thread(target=killer, daemon=True)
    watcher.start()
    try:
        request = SimulateRequest(tasks=("guarded",), agents=("script-pause",), repeats=3)
        summary = simulate(request, sim_settings)
    finally:
        done.set()
        watcher.join()
    assert killed
    statuses = Counter(r.data.tags["status"] for r in trial_runs(sim_settings, summary.sweep_id))
    assert statuses == Counter({"error": 1, "passed": 2}), statuses
