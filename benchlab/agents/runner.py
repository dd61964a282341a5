"""Run an agent CLI in its own process group, stamping each stdout line as it arrives.

A trial can stop a running agent early (it is stuck) without the harness knowing:
it sets a :class:`StopSignal` with :func:`stop_on` around the harness call, and
:func:`run_streaming` ends the process group when the signal fires.

Processes that leave the group (a daemon that double-forks into a session of its own)
are found by a mark in their environment and stopped too
(see :mod:`benchlab.agents.mini_swe_leftovers`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from benchlab.agents.mini_swe_leftovers import MARK_VARIABLE, new_mark, stop_marked
from benchlab.shell import read_tail

POLL_S = 0.25
"""How often a running agent is checked for a stop signal."""


class StopSignal:
    """Asks running agents to stop, with a reason; thread-safe, set once."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._released = False
        self.reason: str | None = None

    def set(self, reason: str) -> None:
        """Fire the signal (the first reason wins); ignored once released."""
        with self._lock:
            if not self._released and not self._event.is_set():
                self.reason = reason
                self._event.set()

    def release(self) -> None:
        """The agent ended by itself: forget a signal that did not stop it, and ignore
        later ones (a watchdog that fires while its leftovers are being stopped, say)."""
        with self._lock:
            self._released = True
            self._event.clear()
            self.reason = None

    def is_set(self) -> bool:
        """Whether the signal fired."""
        return self._event.is_set()


_current_stop: ContextVar[StopSignal | None] = ContextVar("benchlab_stop", default=None)


@contextmanager
def stop_on(signal: StopSignal) -> Iterator[StopSignal]:
    """Agents run by :func:`run_streaming` in this context stop when ``signal`` fires."""
    token = _current_stop.set(signal)
    try:
        yield signal
    finally:
        _current_stop.reset(token)


@dataclass
class StreamedRun:
    """How the process ended, and its stdout lines with arrival times."""

    exit_code: int | None
    """Exit code; None if it was stopped at the timeout."""
    duration_s: float
    timed_out: bool
    lines: list[tuple[int, str]] = field(default_factory=list)
    """``(time_ns, line)`` for each stdout line, in order."""
    stderr_tail: str = ""
    stopped_by: str | None = None
    """Why it was stopped early: the stop signal's reason, or ``timeout``."""


def run_streaming(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdin_text: str,
    stdout_path: Path,
    stderr_path: Path,
    timeout_s: float,
    grace_s: float = 5.0,
) -> StreamedRun:
    """Run ``argv`` with ``stdin_text`` on stdin; stop its whole group at the timeout.

    stdout is copied to ``stdout_path`` line by line as it arrives, so a killed run
    keeps everything up to the kill. The group is stopped after a normal exit too,
    and so is every process that carries the run's mark (``env``'s own, or a new
    one), so nothing the agent started in the background survives it.

    Raises:
        OSError: the program could not be started.
    """
    stdout_path.parent.mkdir(parents=True, exist_ok=True)
    mark = env.get(MARK_VARIABLE) or new_mark()
    start = time.monotonic()
    with stderr_path.open("wb") as err:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env={**env, MARK_VARIABLE: mark},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            start_new_session=True,
        )
    result = StreamedRun(exit_code=None, duration_s=0.0, timed_out=False)
    reader = threading.Thread(target=_copy_lines, args=(proc, stdout_path, result), daemon=True)
    reader.start()
    # Fed from a thread: a full pipe must not block the timeout.
    threading.Thread(target=_feed, args=(proc, stdin_text), daemon=True).start()
    stop = _current_stop.get()
    deadline = start + timeout_s
    try:
        while proc.poll() is None:
            if stop is not None and stop.is_set():
                result.timed_out, result.stopped_by = True, stop.reason
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                result.timed_out, result.stopped_by = True, "timeout"
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=min(POLL_S, remaining))
        if stop is not None and not result.timed_out:
            stop.release()
    finally:
        stop_group(proc, grace_s)
        # Before waiting for stdout's end: a daemon that kept it open holds it.
        stop_marked(mark, grace_s)
        reader.join(timeout=grace_s)
    result.duration_s = time.monotonic() - start
    result.exit_code = None if result.timed_out else proc.returncode
    result.lines = list(result.lines)
    result.stderr_tail = read_tail(stderr_path, 4000).strip()
    return result


def stop_group(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM the process group, SIGKILL it after ``grace_s``, and reap the leader."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace_s)
    # Children may ignore SIGTERM or outlive the leader; the group goes regardless.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace_s)


def _feed(proc: subprocess.Popen[bytes], text: str) -> None:
    assert proc.stdin is not None
    # The agent may die before reading its prompt; that shows in its exit code.
    with contextlib.suppress(BrokenPipeError, OSError):
        proc.stdin.write(text.encode())
    with contextlib.suppress(BrokenPipeError, OSError):
        proc.stdin.close()


def _copy_lines(proc: subprocess.Popen[bytes], path: Path, result: StreamedRun) -> None:
    assert proc.stdout is not None
    out: BinaryIO | None = None
    with contextlib.suppress(OSError):
        out = path.open("wb")
    try:
        for raw in proc.stdout:
            result.lines.append((time.time_ns(), raw.decode(errors="replace")))
            if out is None:
                continue
            try:
                out.write(raw)
                out.flush()
            except OSError:
                # A full disk ends the copy, not the reading: the lines stay in memory,
                # and the agent never blocks on a pipe that nobody drains.
                _close(out)
                out = None
    finally:
        if out is not None:
            _close(out)


def _close(out: BinaryIO) -> None:
    # Closing flushes what a full disk refused; that is lost from the file only.
    with contextlib.suppress(OSError):
        out.close()
