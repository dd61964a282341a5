"""Nothing benchlab starts outlives it, however benchlab dies.

Servers run in their own sessions (so that a stop reaches their whole group), which also
means a ``kill -9`` of benchlab, an OOM kill or a Ctrl-\\ leaves them running, re-parented
to init: a llama-server holding a GPU's memory, a temporary Prefect server. A context
manager cannot help when the process is gone, so a small *guardian* process does:

- :func:`guard` starts one guardian per benchlab process. The guardian reads a pipe whose
  write end only benchlab holds; the kernel closes it when benchlab dies, by any signal.
- Every process benchlab starts inherits ``BENCHLAB_RUN`` (set in the environment here),
  and the guardian keeps a list of benchlab's descendants, refreshed twice a second.
- At end of file it stops (SIGTERM, then SIGKILL) every process of that list still alive
  with the same start time, and every process whose environment carries the run's mark,
  and removes the containers labelled with it (``benchlab.run=<mark>``).
- It records what it watches in ``<data>/run/<mark>.json``. If the guardian itself is
  killed too, the next :func:`guard` finds the file of the dead run, stops what is left,
  and says so.

On a normal exit everything has been stopped already; the guardian finds nothing and
removes its file.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

RUN_VARIABLE = "BENCHLAB_RUN"
"""The environment variable every process of one benchlab run inherits: the run's mark."""

CONTAINER_LABEL = "benchlab.run"
"""The docker label naming the run that started a container."""

SNAPSHOT_S = 0.5
"""How often the guardian refreshes its list of benchlab's descendants."""

GRACE_S = 5.0
"""How long a leftover gets between SIGTERM and SIGKILL."""

_guardian: subprocess.Popen[bytes] | None = None
_guarded_pid: int | None = None


def run_mark() -> str:
    """The mark of the guarded run this process belongs to (empty before :func:`guard`)."""
    return os.environ.get(RUN_VARIABLE, "")


def run_labels() -> dict[str, str]:
    """Docker labels that tie a container to this run, so its guardian can remove it."""
    mark = run_mark()
    return {CONTAINER_LABEL: mark} if mark else {}


def _stat(pid: int) -> list[bytes] | None:
    """The fields of ``/proc/PID/stat`` from the state (field 3) on; None if it is gone.

    The command name (field 2) may hold spaces and parentheses; the fields follow the
    last ")".
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    return fields if len(fields) > 19 else None


def _started(fields: list[bytes]) -> int | None:
    try:
        return int(fields[19])  # field 22: start time in clock ticks since boot
    except ValueError:
        return None


def start_time(pid: int) -> int | None:
    """A process's start time in clock ticks since boot (``/proc/PID/stat`` field 22)."""
    fields = _stat(pid)
    return _started(fields) if fields is not None else None


def alive(pid: int, started: int | None) -> bool:
    """Whether ``pid`` is the process that started at ``started`` and has not died (a
    zombie waiting for its parent to reap it has died)."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in (b"Z", b"X") and _started(fields) == started


def descendants(*roots: int) -> dict[int, int]:
    """Every live descendant of the ``roots``, as pid -> start time, from one look at
    ``/proc``."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        started = _started(fields) if fields is not None else None
        if fields is not None and started is not None:
            with contextlib.suppress(ValueError):
                children.setdefault(int(fields[1]), []).append((int(entry.name), started))
    found: dict[int, int] = {}
    todo = [child for root in roots for child in children.get(root, [])]
    while todo:
        pid, started = todo.pop()
        if pid not in found:
            found[pid] = started
            todo.extend(children.get(pid, []))
    return found


def _marked(mark: str) -> dict[int, int]:
    needle = f"{RUN_VARIABLE}={mark}".encode()
    found: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = Path(f"/proc/{entry.name}/environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            started = start_time(int(entry.name))
            if started is not None:
                found[int(entry.name)] = started
    return found


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def stop_processes(processes: dict[int, int], grace_s: float = GRACE_S) -> list[str]:
    """SIGTERM, then SIGKILL, each process still alive with the recorded start time.

    Returns:
        ``name (pid N)`` of each process that was stopped.
    """
    living = {pid: st for pid, st in processes.items() if alive(pid, st)}
    stopped = [f"{_name(pid)} (pid {pid})" for pid in sorted(living)]
    for pid in living:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(alive(p, s) for p, s in living.items()):
        time.sleep(0.05)
    for pid, started in living.items():
        if alive(pid, started):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    return stopped


def remove_containers(mark: str) -> list[str]:
    """Remove the containers labelled with the run's mark (none without docker)."""
    if not mark:
        return []
    try:
        listed = subprocess.run(
            ["docker", "ps", "-aq", "--filter", f"label={CONTAINER_LABEL}={mark}"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        ).stdout.split()
        if listed:
            subprocess.run(
                ["docker", "rm", "-f", *listed], capture_output=True, timeout=60, check=False
            )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [f"container {cid}" for cid in listed]


def _write(
    path: Path, mark: str, owner: int, owner_start: int | None, watched: dict[int, int]
) -> None:
    record = {
        "mark": mark,
        "owner": owner,
        "owner_start": owner_start,
        "guardian": os.getpid(),
        "guardian_start": start_time(os.getpid()),
        "processes": {str(pid): started for pid, started in watched.items()},
    }
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(record))
    partial.replace(path)


RELEASE = b"exit\n"
"""What benchlab writes to its guardian when it exits normally: sweep now, then end."""


def _watch(owner: int, mark: str, record: Path) -> None:
    """The guardian's loop: watch ``owner`` until it exits or dies, then clean up.

    End of file on the pipe with the owner gone means it died; with the owner alive, it
    replaced itself with another program (``benchlab worker`` execs Prefect's worker),
    which is then watched by its pid until it ends.
    """
    owner_start = start_time(owner)
    watched: dict[int, int] = {}
    me = os.getpid()
    pipe_open, released = True, False
    with contextlib.suppress(OSError):
        # Written at once: a run that dies with its guardian may have left containers.
        _write(record, mark, owner, owner_start, watched)
    while True:
        if pipe_open:
            ready, _, _ = select.select([sys.stdin.buffer], [], [], SNAPSHOT_S)
            data = os.read(sys.stdin.fileno(), 4096) if ready else b"-"
            released = RELEASE in data
            pipe_open = bool(data) and not released
            if released:
                break
        else:
            time.sleep(SNAPSHOT_S)
        if not pipe_open and not alive(owner, owner_start):
            break
        now = {pid: st for pid, st in descendants(owner).items() if pid != me}
        now |= {pid: st for pid, st in watched.items() if start_time(pid) == st}
        if now != watched:
            watched = now
            with contextlib.suppress(OSError):
                _write(record, mark, owner, owner_start, watched)
    # Children of the watched ones started since the last look are still linked to them.
    watched |= descendants(*watched)
    watched |= _marked(mark)
    watched.pop(me, None)
    watched.pop(owner, None)  # exiting on its own (released), or already dead
    stopped = stop_processes(watched) + remove_containers(mark)
    with contextlib.suppress(OSError):
        unfinished = mark_unfinished(record.parent.parent / "trials", mark, owner)
        stopped += [f"unfinished trial {path.name} (workspace removed)" for path in unfinished]
    if stopped:
        print(
            f"benchlab guardian: benchlab (pid {owner}) "
            f"{'exited' if released else 'is gone'}; stopped what it left: " + ", ".join(stopped),
            file=sys.stderr,
        )
    with contextlib.suppress(OSError):
        record.unlink()


RUNNING_FILE = "RUNNING"
"""In a trial's directory while it runs: the mark of the run it belongs to."""

UNFINISHED_FILE = "UNFINISHED"
"""Left in a trial's directory whose run died before the trial ended: why."""


def mark_running(trial_dir: Path) -> None:
    """Say that a trial of this run is running in ``trial_dir``."""
    (trial_dir / RUNNING_FILE).write_text(run_mark())


def unmark_running(trial_dir: Path) -> None:
    """The trial in ``trial_dir`` has ended."""
    (trial_dir / RUNNING_FILE).unlink(missing_ok=True)


def mark_unfinished(trials_dir: Path, mark: str, owner: int) -> list[Path]:
    """Trials the dead run left: their workspaces removed, an ``UNFINISHED`` note left.

    The trial directory keeps what the trial wrote (agent transcript, logs); only the
    workspace clones, which can be large, go.

    Returns:
        The trial directories marked.
    """
    import shutil

    marked: list[Path] = []
    if not mark:
        return marked
    for running in [*trials_dir.glob(f"*/{RUNNING_FILE}"), *trials_dir.glob(f"*/*/{RUNNING_FILE}")]:
        try:
            if running.read_text().strip() != mark:
                continue
        except OSError:
            continue
        trial_dir = running.parent
        for workspace in trial_dir.glob("benchlab-*"):
            if workspace.is_dir():
                shutil.rmtree(workspace, ignore_errors=True)
        (trial_dir / UNFINISHED_FILE).write_text(
            f"benchlab (pid {owner}) died while this trial ran; it was never recorded, "
            "and a rerun of the sweep runs it again\n"
        )
        running.unlink(missing_ok=True)
        marked.append(trial_dir)
    return marked


def reap_dead_runs(run_dir: Path, report: Callable[[str], None]) -> list[str]:
    """Stop what runs whose owner and guardian both died left behind.

    Args:
        run_dir: Where guardians keep their records (``<data>/run``).
        report: Called with one line per dead run that left something running.

    Returns:
        ``name (pid N)`` of everything stopped.
    """
    stopped_all: list[str] = []
    for path in sorted(run_dir.glob("*.json")):
        try:
            record = json.loads(path.read_text())
            owner_alive = start_time(int(record["owner"])) == record["owner_start"]
            guardian_alive = start_time(int(record["guardian"])) == record["guardian_start"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if owner_alive or guardian_alive:
            continue
        processes = {int(pid): int(st) for pid, st in record.get("processes", {}).items()}
        mark = str(record.get("mark", ""))
        stopped = stop_processes(processes) + remove_containers(mark)
        unfinished = mark_unfinished(run_dir.parent / "trials", mark, int(record["owner"]))
        stopped += [f"unfinished trial {path.name} (workspace removed)" for path in unfinished]
        if stopped:
            report(
                f"stopped leftovers of a dead benchlab run (pid {record['owner']}): "
                + ", ".join(stopped)
            )
        stopped_all += stopped
        path.unlink(missing_ok=True)
    return stopped_all


def guard(state_dir: Path, report: Callable[[str], None] | None = None) -> str:
    """Make sure this process is guarded; stop leftovers of dead runs first.

    Safe to call more than once; a forked child is guarded anew on its next call.

    Args:
        state_dir: benchlab's data directory (records go to ``<state_dir>/run``).
        report: Where to say what was stopped (default: standard error).

    Returns:
        This run's mark.
    """
    global _guardian, _guarded_pid
    if _guardian is not None and _guarded_pid == os.getpid() and _guardian.poll() is None:
        return run_mark()
    run_dir = state_dir / "run"
    # Without it (a read-only data dir) there is no record; the guardian still watches.
    with contextlib.suppress(OSError):
        run_dir.mkdir(parents=True, exist_ok=True)
    reap_dead_runs(run_dir, report or (lambda line: print(f"benchlab: {line}", file=sys.stderr)))
    # A mark of its own, also when started by another benchlab: when this one dies, what
    # it started goes, and its parent's other work stays.
    mark = uuid.uuid4().hex[:16]
    os.environ[RUN_VARIABLE] = mark
    record = run_dir / f"{mark}.json"
    _guardian = subprocess.Popen(
        [sys.executable, "-m", "benchlab.services.guardian", str(os.getpid()), mark, str(record)],
        stdin=subprocess.PIPE,
        # Unmarked: no guardian's sweep of marked processes takes it for a leftover.
        env={k: v for k, v in os.environ.items() if k != RUN_VARIABLE},
        # Its own session: a signal to benchlab's process group does not reach it.
        start_new_session=True,
        close_fds=True,
    )
    _guarded_pid = os.getpid()
    atexit.register(_release, _guardian)
    return mark


def _release(guardian: subprocess.Popen[bytes]) -> None:
    """On a normal exit: let the guardian make its last sweep and end before this
    process does, so that nothing of the run, the guardian included, outlives it."""
    if guardian.pid != (_guardian.pid if _guardian else None) or _guarded_pid != os.getpid():
        return  # a forked child's copy of the handler: the guardian is its parent's
    with contextlib.suppress(OSError, ValueError):
        if guardian.stdin is not None:
            guardian.stdin.write(RELEASE)
            guardian.stdin.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        guardian.wait(timeout=GRACE_S + 10)


def guarded_pids() -> Iterable[int]:
    """The guardian's pid, when this process has one (for tests and diagnostics)."""
    return [_guardian.pid] if _guardian is not None and _guardian.poll() is None else []


if __name__ == "__main__":
    _watch(int(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
