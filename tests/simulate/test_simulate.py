"""The simulate flow on the real small model with scripted agents: every trial recorded
exactly once with a clear status, limits and faults included, and a rerun that resumes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
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


def _cli_env(settings: Settings) -> dict[str, str]:
    assert settings.s3_access_key is not None and settings.s3_secret_key is not None
    return {
        **os.environ,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "BENCHLAB_DATA_DIR": str(settings.data_dir),
        "BENCHLAB_MODELS_FILE": str(settings.models_file),
        "BENCHLAB_TASKS_DIR": str(settings.tasks_dir),
        "BENCHLAB_MLFLOW_EXPERIMENT": settings.mlflow_experiment,
        "BENCHLAB_S3_ENDPOINT": str(settings.s3_endpoint),
        "BENCHLAB_S3_ACCESS_KEY": settings.s3_access_key.get_secret_value(),
        "BENCHLAB_S3_SECRET_KEY": settings.s3_secret_key.get_secret_value(),
        "BENCHLAB_S3_BUCKET": str(settings.s3_bucket),
        "BENCHLAB_SANDBOX": "local",
        "BENCHLAB_PROBE_PROMPT_TOKENS": "16",
        "BENCHLAB_PROBE_GEN_TOKENS": "4",
        "BENCHLAB_PROBE_REPEATS": "1",
    }


def test_flow_killed_mid_sweep_then_rerun(sim_settings: Settings) -> None:
    """SIGKILL the whole CLI after its first recorded trial; the rerun does the rest, and
    every trial exists exactly once."""
    argv = [sys.executable, "-m", "benchlab", "simulate", "--task", "guarded"]
    argv += ["--agent", "script-slow", "--repeats", "4", "--name", "killed"]
    env = _cli_env(sim_settings)
    first = subprocess.Popen(
        argv, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 600
        while not [r for r in trial_runs(sim_settings, "killed") if r.info.status == "FINISHED"]:
            assert first.poll() is None, first.stderr.read().decode() if first.stderr else ""
            assert time.monotonic() < deadline, "no trial recorded in 10 minutes"
            time.sleep(0.5)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(30)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        # The engine runs in its own process group: a SIGKILLed flow cannot stop it.
        for proc in _llama_servers(sim_settings.state_dir):
            proc.kill()
    runs = trial_runs(sim_settings, "killed")
    before = {r.data.tags["trial_key"]: r.info.run_id for r in runs if r.info.status == "FINISHED"}
    # A run the kill cut while it was being logged is deleted by the rerun and redone.
    assert 1 <= len(before) < 4

    rerun = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    skipped = re.search(r"already recorded \(skipped\)\D*(\d+)", rerun.stdout)
    assert skipped is not None and int(skipped.group(1)) == len(before)
    after = trial_runs(sim_settings, "killed")
    keys = [r.data.tags["trial_key"] for r in after]
    assert len(keys) == len(set(keys)) == 4
    # The trials recorded before the kill are the same runs, not redone.
    assert {
        r.data.tags["trial_key"]: r.info.run_id
        for r in after
        if r.info.run_id in set(before.values())
    } == before
