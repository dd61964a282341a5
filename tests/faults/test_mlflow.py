"""The MLflow tracking server is unreachable for a while: no finished trial is dropped.

A real ``mlflow server`` (sqlite backend) is SIGKILLed once a trial of a simulate sweep
is recorded, kept down while later trials end, and restarted on the same port and
store. Trials that end meanwhile go to the spool under the data dir, the sweep goes on,
and they are logged when the server is back (or by the next run of the sweep): every
planned trial exists exactly once, with its trace.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import pytest

from benchlab.config.simulate import SimulateRequest
from benchlab.services.process import ManagedProcess, free_port, http_ok, wait_until
from benchlab.settings import Settings
from benchlab.simulate import sweep
from benchlab.simulate.plan import plan_simulation
from benchlab.simulate.record import open_sweep
from benchlab.simulate.spool import TrialSpool
from benchlab.tracking import setup_tracking
from tests.fixtures.simulate import ledger, llama_servers, trial_runs

if TYPE_CHECKING:
    from mlflow.entities import Run

pytestmark = pytest.mark.slow


class TrackingServer:
    """``mlflow server`` on a loopback port with a sqlite store, killable and restartable."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.kills = 0
        self._process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env |= {
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        }
        argv = [str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1"]
        argv += ["--port", str(self.port), "--workers", "1"]
        argv += ["--backend-store-uri", f"sqlite:///{self.root / 'mlflow.db'}"]
        argv += ["--artifacts-destination", str(self.root / "artifacts")]
        process = ManagedProcess(argv, log_path=self.root / "server.log", env=env, grace_s=5)
        self._process = process.start()
        wait_until(lambda: http_ok(f"{self.url}/health"), timeout_s=240,
                   what="mlflow server", process=process, interval_s=0.5)  # fmt: skip

    def kill(self) -> None:
        assert self._process is not None
        os.killpg(self._process.pid, signal.SIGKILL)
        self._process.stop()  # reaps it
        self.kills += 1

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()


@pytest.fixture
def tracking_server(tmp_path: Path) -> Iterator[TrackingServer]:
    server = TrackingServer(tmp_path / "mlflow-server")
    server.root.mkdir()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def outage_settings(
    sim_settings: Settings, tracking_server: TrackingServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """The simulate sandbox logging to the tracking server; MLflow's client gives up on
    a dead server in seconds instead of retrying for minutes."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    previous = mlflow.get_tracking_uri()
    yield sim_settings.model_copy(update={"mlflow_tracking_uri": tracking_server.url})
    mlflow.set_tracking_uri(previous)
    for proc in llama_servers(sim_settings.state_dir):
        proc.kill()


class Outage:
    """Kills the server once the sweep has a recorded trial; restarts it when
    ``spooled_before_restart`` trials wait in the spool (0: leaves it down)."""

    def __init__(
        self, server: TrackingServer, settings: Settings, sweep_id: str, spooled_before_restart: int
    ) -> None:
        self.server, self.settings, self.sweep_id = server, settings, sweep_id
        self.wanted = spooled_before_restart
        self.spool = TrialSpool.of_sweep(settings.state_dir, sweep_id)
        self.most_spooled = 0
        self.error: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _recorded(self) -> bool:
        try:
            runs = trial_runs(self.settings, self.sweep_id)
        except Exception:
            return False  # the sweep has not set its experiment up yet
        return any(r.info.status == "FINISHED" for r in runs)

    def _run(self) -> None:
        try:
            while not self._done.wait(0.3) and not self._recorded():
                pass
            if self._done.is_set():
                return
            self.server.kill()
            deadline = time.monotonic() + 300
            while not self._done.wait(0.2) and time.monotonic() < deadline:
                self.most_spooled = max(self.most_spooled, len(self.spool))
                if self.wanted and self.most_spooled >= self.wanted:
                    self.server.start()
                    return
        except BaseException as exc:  # reported by the test
            self.error = exc

    def __enter__(self) -> Outage:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def assert_traced(runs: Mapping[str, Run]) -> None:
    """Each run has its trace, with one LLM span per model call, and its result.json."""
    from mlflow import MlflowClient

    client = MlflowClient()
    for run in runs.values():
        trace = mlflow.get_trace(run.data.tags["trace_id"])
        llm = [s for s in trace.data.spans if s.span_type == "LLM"]
        assert len(llm) == run.data.metrics["turns"] > 0
        names = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert "result.json" in names


def test_trials_ending_while_tracking_server_is_down_are_spooled_then_logged(
    outage_settings: Settings, tracking_server: TrackingServer, prefect_harness: None
) -> None:
    from flows.simulate import simulate

    request = SimulateRequest(tasks=("guarded",), agents=("script-solve",), repeats=5,
                              name="mlflow-outage")  # fmt: skip
    with Outage(tracking_server, outage_settings, "mlflow-outage", 2) as outage:
        summary = simulate(request, outage_settings)
    assert outage.error is None, outage.error
    assert tracking_server.kills == 1 and outage.most_spooled >= 2
    runs = ledger(outage_settings, request, summary)  # each planned trial exactly once
    assert summary.spooled >= 2 and summary.unlogged == 0
    assert_traced(runs)
    spool = TrialSpool.of_sweep(outage_settings.state_dir, summary.sweep_id)
    assert len(spool) == 0
    print(f"outage: 1 kill, {summary.spooled} trials spooled, {len(runs)}/{summary.planned} "
          f"recorded, {summary.planned - len(runs)} lost")  # fmt: skip


def test_trials_spooled_when_the_sweep_ends_are_logged_first_by_the_next_run(
    outage_settings: Settings,
    tracking_server: TrackingServer,
    prefect_harness: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.simulate import simulate

    monkeypatch.setattr(sweep, "DRAIN_WAIT_S", 2.0)
    request = SimulateRequest(tasks=("guarded",), agents=("script-solve",), repeats=3,
                              name="mlflow-down-at-end")  # fmt: skip
    with Outage(tracking_server, outage_settings, "mlflow-down-at-end", 0) as outage:
        state = simulate(request, outage_settings, return_state=True)
    assert outage.error is None, outage.error
    assert state.is_failed()  # the sweep's run cannot be closed while the server is down
    spool = TrialSpool.of_sweep(outage_settings.state_dir, "mlflow-down-at-end")
    spooled = len(spool)
    assert tracking_server.kills == 1 and spooled >= 1

    tracking_server.start()
    plan = plan_simulation(outage_settings, request)
    opened = open_sweep(plan, setup_tracking(outage_settings), outage_settings.state_dir)
    assert opened.delivered == spooled and len(spool) == 0
    planned = {k.text for t in plan.targets for k in plan.keys(t)}
    assert opened.recorded == planned  # nothing left to run

    again = simulate(request, outage_settings)
    assert (again.planned, again.skipped, again.ran) == (3, 3, 0)
    runs = trial_runs(outage_settings, "mlflow-down-at-end")
    keys = [r.data.tags["trial_key"] for r in runs]
    assert sorted(keys) == sorted(planned)  # exactly once each
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert_traced({r.data.tags["trial_key"]: r for r in runs})
    print(f"down at end: 1 kill, {spooled} trials spooled, {len(set(keys))}/{len(planned)} "
          f"recorded, {len(planned - set(keys))} lost")  # fmt: skip
