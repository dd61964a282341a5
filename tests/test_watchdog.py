"""Stuck detection and stopping a running agent from outside its harness."""

from __future__ import annotations

import time
from pathlib import Path

from benchlab.agents.runner import StopSignal, run_streaming, stop_on
from benchlab.watchdog import StuckWatch, workspace_fingerprint


def test_fingerprint_sees_writes_and_ignores_git(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    first = workspace_fingerprint(tmp_path)
    (tmp_path / ".git" / "index").write_text("x")
    assert workspace_fingerprint(tmp_path) == first
    (tmp_path / "a.txt").write_text("hello")
    assert workspace_fingerprint(tmp_path) != first


def test_idle_agent_is_stopped(tmp_path: Path) -> None:
    signal = StopSignal()
    with StuckWatch(signal, tmp_path, lambda: 0, stuck_after_s=0.6, poll_s=0.1):
        deadline = time.monotonic() + 5
        while not signal.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert signal.is_set()
    assert signal.reason is not None and signal.reason.startswith("stuck:")


def test_busy_agent_is_not_stopped(tmp_path: Path) -> None:
    signal = StopSignal()
    calls = iter(range(1000))
    with StuckWatch(signal, tmp_path, lambda: next(calls), stuck_after_s=0.4, poll_s=0.1):
        time.sleep(1.2)
    assert not signal.is_set()


def test_workspace_changes_count_as_progress(tmp_path: Path) -> None:
    signal = StopSignal()
    with StuckWatch(signal, tmp_path, lambda: 0, stuck_after_s=0.5, poll_s=0.1):
        for i in range(12):
            (tmp_path / f"f{i}.txt").write_text("x")
            time.sleep(0.1)
    assert not signal.is_set()


def test_signal_stops_a_running_process_group(tmp_path: Path) -> None:
    signal = StopSignal()
    marker = tmp_path / "child-survived"
    # The shell leaves a child behind that would write the marker after 3 s.
    script = f"(sleep 3; touch {marker}) & echo started; sleep 60"
    started = time.monotonic()
    with stop_on(signal):
        import threading

        threading.Timer(0.5, signal.set, args=("stuck: test",)).start()
        run = run_streaming(
            ["bash", "-c", script],
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin"},
            stdin_text="",
            stdout_path=tmp_path / "out.log",
            stderr_path=tmp_path / "err.log",
            timeout_s=60,
            grace_s=1,
        )
    assert time.monotonic() - started < 10
    assert run.timed_out and run.stopped_by == "stuck: test"
    assert [line for _, line in run.lines] == ["started\n"]
    time.sleep(3.5)
    assert not marker.exists()
