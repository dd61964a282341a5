"""The simulate flow killed mid-sweep (SIGKILL to the whole CLI) and run again: every
trial exists exactly once, the ones recorded before the kill are not redone."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from benchlab.config.simulate import SimulateRequest
from benchlab.settings import Settings
from tests.fixtures.simulate import llama_servers, recorded_once, sweep_counts, trial_runs

pytestmark = pytest.mark.slow

REPEATS = 4


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


def _summary_row(stdout: str, label: str) -> int:
    found = re.search(rf"{re.escape(label)}\D*(\d+)", stdout)
    assert found is not None, f"{label!r} not in:\n{stdout}"
    return int(found.group(1))


def _rerun(argv: list[str], env: dict[str, str], timeout_s: float = 900) -> str:
    """Run the CLI to its end; its stdout. On a timeout its whole group goes (the
    temporary Prefect server it started included)."""
    proc = subprocess.Popen(
        argv, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"the rerun did not end in {timeout_s:g}s: {err.decode()[-2000:]}")
    assert proc.returncode == 0, err.decode()[-2000:]
    return out.decode()


def test_flow_killed_mid_sweep_then_rerun(sim_settings: Settings) -> None:
    """SIGKILL the whole CLI after its first recorded trial; the rerun does the rest."""
    argv = [sys.executable, "-m", "benchlab", "simulate", "--task", "guarded"]
    argv += ["--agent", "script-slow", "--repeats", str(REPEATS), "--name", "killed"]
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
        for proc in llama_servers(sim_settings.state_dir):
            proc.kill()
    runs = trial_runs(sim_settings, "killed")
    before = {r.data.tags["trial_key"]: r.info.run_id for r in runs if r.info.status == "FINISHED"}
    # A run the kill cut while it was being logged is deleted by the rerun and redone.
    assert 1 <= len(before) < REPEATS

    stdout = _rerun(argv, env)
    assert _summary_row(stdout, "trials in the sweep") == REPEATS
    assert _summary_row(stdout, "already recorded (skipped)") == len(before)
    assert _summary_row(stdout, "run now") == REPEATS - len(before)

    request = SimulateRequest(
        tasks=("guarded",), agents=("script-slow",), repeats=REPEATS, name="killed"
    )
    after = recorded_once(sim_settings, request, "killed")
    assert Counter(r.data.tags["status"] for r in after.values()) == {"passed": REPEATS}
    # The trials recorded before the kill are the same runs, not redone.
    assert {key: after[key].info.run_id for key in before} == before
    # The sweep's run counts the whole sweep, not only what the rerun ran.
    sweep_run_id = next(iter(after.values())).data.tags["mlflow.parentRunId"]
    assert sweep_counts(sim_settings, sweep_run_id) == {"passed": float(REPEATS)}
    assert not llama_servers(sim_settings.state_dir)


def test_benchlab_killed_alone_leaves_nothing_running(sim_settings: Settings) -> None:
    """SIGKILL the simulate process alone (not its group) while its engine serves: within
    10 s no llama-server, temporary Prefect server or agent of that run is alive."""
    import uuid

    import psutil

    from tests.helpers_proc import marked

    marker = uuid.uuid4().hex
    argv = [sys.executable, "-m", "benchlab", "simulate", "--task", "guarded"]
    argv += ["--agent", "script-slow", "--repeats", "1", "--name", "killed-alone"]
    env = {**_cli_env(sim_settings), "BENCHLAB_TEST_MARKER": marker}

    def ours() -> list[psutil.Process]:
        return marked(marker)

    first = subprocess.Popen(
        argv, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 600
        trials = sim_settings.state_dir / "trials"
        # Killed mid-trial: its engine serves and the trial is under way.
        while not (llama_servers(sim_settings.state_dir) and list(trials.glob("*/*/RUNNING"))):
            assert first.poll() is None, first.stderr.read().decode() if first.stderr else ""
            assert time.monotonic() < deadline, "no trial running in 10 minutes"
            time.sleep(0.5)
        time.sleep(1.0)  # the guardian has listed everything
        running = {p.name() for p in ours()}
        assert any("llama-server" in name for name in running), running
        first.kill()  # the benchlab process alone; its group is not signalled
        first.wait(30)
        gone_by = time.monotonic() + 10
        while (left := ours()) and time.monotonic() < gone_by:
            time.sleep(0.2)
        assert left == [], [(p.pid, " ".join(p.cmdline())[:120]) for p in left]
        assert not llama_servers(sim_settings.state_dir)
        # The trial that was running is marked unfinished, its workspace gone.
        while not list(trials.glob("*/*/UNFINISHED")) and time.monotonic() < gone_by + 10:
            time.sleep(0.2)
        (unfinished,) = [p.parent for p in trials.glob("*/*/UNFINISHED")]
        assert "died while this trial ran" in (unfinished / "UNFINISHED").read_text()
        assert not list(unfinished.glob("benchlab-*")) and not (unfinished / "RUNNING").exists()
    finally:
        for proc in ours():
            proc.kill()
