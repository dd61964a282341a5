"""Agent faults: an agent that hangs, one whose daemon outlives it, one that fills the
disk of its workspace. Each is stopped, what it started is reaped, and its trial is
recorded; the trials after it run as usual."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from benchlab.config.simulate import SimulateRequest
from benchlab.settings import Settings
from tests.fixtures.simulate import ledger, pids_file

pytestmark = pytest.mark.slow

DISK_BYTES = 8 << 20
"""The workspace disk: room for a few clones of the sample repository, and little more."""


def _noted_pids(settings: Settings) -> dict[str, list[int]]:
    """The pids the scripted agents noted, by kind (``agent``, ``orphan``)."""
    noted: dict[str, list[int]] = {}
    path = pids_file(settings.models_file.parent)
    for line in path.read_text().splitlines() if path.exists() else []:
        kind, pid = line.split()
        noted.setdefault(kind, []).append(int(pid))
    return noted


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_hanging_agent_and_an_orphaned_daemon(
    sim_settings: Settings, prefect_harness: None
) -> None:
    """The hanging agent is stopped as stuck; the daemon that left the agent's process
    group (and ignores SIGTERM) is killed with its trial, which is recorded as passed."""
    from flows.simulate import simulate

    request = SimulateRequest(
        tasks=("guarded",), agents=("script-hang", "script-orphan"), repeats=2, name="agents"
    )
    summary = simulate(request, sim_settings)
    runs = ledger(sim_settings, request, summary)
    outcomes = {k: (r.data.tags["status"], r.data.tags.get("reason", "")) for k, r in runs.items()}
    for key, (status, reason) in outcomes.items():
        if "/script-hang/" in key:
            assert status == "timeout" and reason.startswith("stuck: no model call"), outcomes
        else:
            assert (status, reason) == ("passed", ""), outcomes

    noted = _noted_pids(sim_settings)
    assert len(noted["agent"]) == 4 and len(noted["orphan"]) == 2, noted
    survivors = [pid for pids in noted.values() for pid in pids if _running(pid)]
    assert not survivors, f"still running after the sweep: {survivors}"


@pytest.fixture
def small_disk(sim_settings: Settings) -> Iterator[Path]:
    """A tmpfs of :data:`DISK_BYTES` mounted where the sweep's trials (workspaces,
    transcripts, check logs) live."""
    trials = sim_settings.state_dir / "trials"
    trials.mkdir(parents=True)
    mount = shutil.which("mount")
    if mount is None:
        pytest.skip("needs mount(8) to make a small disk")
    made = subprocess.run(
        [mount, "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "benchlab-faults", str(trials)],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"needs a small tmpfs (root or CAP_SYS_ADMIN): {made.stderr.strip()}")
    try:
        yield trials
    finally:
        subprocess.run(["umount", "--lazy", str(trials)], check=False)


def test_an_agent_that_fills_the_disk(
    sim_settings: Settings, small_disk: Path, prefect_harness: None
) -> None:
    """The agent's trials end as errors that say the disk was full; the space is given
    back, and the trials after them pass on the same disk."""
    from flows.simulate import simulate

    request = SimulateRequest(
        tasks=("guarded",), agents=("script-fill", "script-solve"), repeats=2, name="full"
    )
    summary = simulate(request, sim_settings)
    runs = ledger(sim_settings, request, summary)
    outcomes = {k: (r.data.tags["status"], r.data.tags.get("reason", "")) for k, r in runs.items()}
    for key, (status, reason) in outcomes.items():
        if "/script-fill/" in key:
            assert status == "error" and "No space left on device" in reason, outcomes
        else:
            assert (status, reason) == ("passed", ""), outcomes
    # The workspaces (and the junk in them) are gone; the transcripts stay.
    assert shutil.disk_usage(small_disk).used < DISK_BYTES // 4
    noted = _noted_pids(sim_settings)
    assert len(noted["agent"]) == 4 and not [p for p in noted["agent"] if _running(p)]
