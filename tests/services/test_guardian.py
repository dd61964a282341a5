"""Nothing outlives benchlab: its guardian stops what a killed benchlab left running, and
the next run stops what a run left when its guardian died too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from benchlab.services.guardian import RUN_VARIABLE, start_time
from tests.helpers_proc import marked, wait_unmarked
from tests.run_cli import benchlab

REPO = Path(__file__).resolve().parents[2]


def start_owner(script: str, tmp_path: Path, marker: str) -> subprocess.Popen[str]:
    """Run ``script`` (which guards itself and prints a line when ready) in its own
    session, marked, and wait for its line."""
    owner = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)],
        env={**os.environ, "BENCHLAB_TEST_MARKER": marker},
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert owner.stdout is not None and owner.stdout.readline().strip() == "ready"
    return owner


OWNER = textwrap.dedent(
    """
    import os, subprocess, sys, time
    from pathlib import Path
    from benchlab.services.guardian import guard
    guard(Path(sys.argv[1]))
    env = dict(os.environ)
    # A server in its own session (as llama-server runs), one that ignores SIGTERM,
    # and one started with an environment that does not inherit the run's mark.
    subprocess.Popen(["sleep", "300"], start_new_session=True)
    subprocess.Popen(["bash", "-c", "trap '' TERM; sleep 300 & wait"], start_new_session=True)
    bare = {k: v for k, v in env.items() if k != "BENCHLAB_RUN"}
    subprocess.Popen(["sleep", "301"], env=bare, start_new_session=True)
    print("ready", flush=True)
    time.sleep(600)
    """
)


def test_a_killed_owner_leaves_nothing_running(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    owner = start_owner(OWNER, tmp_path, marker)
    try:
        time.sleep(1.5)  # the guardian's list has seen the children
        names = sorted(p.name() for p in marked(marker))
        assert names.count("sleep") == 3 and "bash" in names, names
        owner.kill()  # the owner alone, not its group: its children are not signalled
        owner.wait(10)
        left = wait_unmarked(marker, within_s=10)
        assert left == [], [(p.pid, p.cmdline()) for p in left]
        # The guardian removed its record: nothing is left for the next run to find.
        assert list((tmp_path / "run").glob("*.json")) == []
    finally:
        for proc in marked(marker):
            proc.kill()


def test_a_normal_exit_leaves_no_record_and_stops_nothing_else(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"from benchlab.services.guardian import guard; "
         f"from pathlib import Path; guard(Path({str(tmp_path)!r}))"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert done.stderr == ""
    deadline = time.monotonic() + 10
    while list((tmp_path / "run").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list((tmp_path / "run").glob("*.json")) == []


def test_the_next_run_stops_what_a_dead_run_left(tmp_path: Path) -> None:
    """A run whose owner and guardian both died left a server: the next ``benchlab``
    command stops it and says so."""
    marker = uuid.uuid4().hex
    leftover = subprocess.Popen(
        ["sleep", "300"], env={**os.environ, "BENCHLAB_TEST_MARKER": marker},
        start_new_session=True,
    )  # fmt: skip
    dead = subprocess.Popen(["true"])
    dead.wait()
    run_dir = tmp_path / "data" / "run"
    run_dir.mkdir(parents=True)
    (run_dir / "deadbeef.json").write_text(
        json.dumps(
            {
                "mark": "deadbeef",
                "owner": dead.pid,
                "owner_start": 1,
                "guardian": dead.pid,
                "guardian_start": 1,
                "processes": {str(leftover.pid): start_time(leftover.pid)},
            }
        )
    )
    try:
        done = benchlab("check", env={"BENCHLAB_DATA_DIR": str(tmp_path / "data")})
        assert done.returncode == 0, done.stderr
        assert (
            f"stopped leftovers of a dead benchlab run (pid {dead.pid}): sleep (pid "
            f"{leftover.pid})" in done.stderr
        ), done.stderr
        leftover.wait(10)
        assert not (run_dir / "deadbeef.json").exists()
    finally:
        if leftover.poll() is None:
            leftover.kill()


def test_a_live_run_is_not_touched(tmp_path: Path) -> None:
    """A record whose owner still runs is another benchlab's: left alone."""
    alive = subprocess.Popen(["sleep", "300"], start_new_session=True)
    run_dir = tmp_path / "data" / "run"
    run_dir.mkdir(parents=True)
    record = run_dir / "cafe.json"
    record.write_text(
        json.dumps(
            {
                "mark": "cafe",
                "owner": os.getpid(),
                "owner_start": start_time(os.getpid()),
                "guardian": os.getpid(),
                "guardian_start": start_time(os.getpid()),
                "processes": {str(alive.pid): start_time(alive.pid)},
            }
        )
    )
    try:
        done = benchlab("check", env={"BENCHLAB_DATA_DIR": str(tmp_path / "data")})
        assert done.returncode == 0, done.stderr
        assert alive.poll() is None and record.exists()
    finally:
        alive.kill()
        alive.wait()


def test_the_mark_is_exported_to_children(tmp_path: Path) -> None:
    code = (
        "import os, subprocess; from pathlib import Path; "
        "from benchlab.services.guardian import guard; m = guard(Path(os.environ['D'])); "
        f"print(m == subprocess.run(['printenv', '{RUN_VARIABLE}'], capture_output=True, "
        "text=True).stdout.strip())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "D": str(tmp_path)},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert done.stdout.strip() == "True"
    assert signal.SIGKILL  # the module's kill path is exercised above


EXECS = textwrap.dedent(
    """
    import os, subprocess, sys
    from pathlib import Path
    from benchlab.services.guardian import guard
    guard(Path(sys.argv[1]))
    subprocess.Popen(["sleep", "300"], start_new_session=True)
    print("ready", flush=True)
    # As `benchlab worker` does: the process becomes another program, same pid.
    os.execv("/bin/sleep", ["sleep", "3"])
    """
)


def test_an_owner_that_execs_is_watched_until_the_new_program_ends(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    owner = start_owner(EXECS, tmp_path, marker)
    try:
        time.sleep(1.5)
        assert owner.poll() is None, "the guardian must not stop the program its owner became"
        assert [p.name() for p in marked(marker) if p.pid != owner.pid].count("sleep") == 1
        assert owner.wait(20) == 0  # the new program ran to its end
        left = wait_unmarked(marker, within_s=10)
        assert left == [], [(p.pid, p.cmdline()) for p in left]
    finally:
        for proc in marked(marker):
            proc.kill()


DOCKER_OWNER = textwrap.dedent(
    """
    import subprocess, sys, time
    from pathlib import Path
    from benchlab.services.guardian import guard, run_labels
    mark = guard(Path(sys.argv[1]))
    labels = [f"--label={k}={v}" for k, v in run_labels().items()]
    subprocess.run(["docker", "run", "-d", "--network", "none", *labels, sys.argv[2],
                    "sleep", "300"], check=True, capture_output=True)
    print(mark, flush=True)
    time.sleep(600)
    """
)


@pytest.mark.docker
def test_a_killed_owner_leaves_no_container(tmp_path: Path, base_image: str) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", DOCKER_OWNER, str(tmp_path), base_image],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    label = ""
    try:
        assert owner.stdout is not None
        label = f"label=benchlab.run={owner.stdout.readline().strip()}"
        assert _containers(label), "the container is running"
        owner.kill()
        owner.wait(10)
        deadline = time.monotonic() + 20
        while _containers(label) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _containers(label) == []
    finally:
        if owner.poll() is None:
            owner.kill()
        if label:
            for cid in _containers(label):
                subprocess.run(["docker", "rm", "-f", cid], capture_output=True, check=False)


def _containers(label: str) -> list[str]:
    done = subprocess.run(
        ["docker", "ps", "-aq", "--filter", label], capture_output=True, text=True, check=False
    )
    return done.stdout.split()
