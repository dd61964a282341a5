"""Stopping what an agent's tool commands left running.

mini-swe-agent (and opencode too) starts each shell command in a session of its own,
so stopping the agent's process group does not reach them: a command running when
the agent is stopped, or one sent to the background, would outlive the trial. Every
process the agent starts inherits its environment, so a per-run mark in it finds
them all.
"""

from __future__ import annotations

import contextlib
import uuid

import psutil

MARK_VARIABLE = "BENCHLAB_AGENT_RUN"
"""The environment variable that carries the mark."""


def new_mark() -> str:
    """A mark unique to one agent run."""
    return uuid.uuid4().hex


def stop_marked(mark: str, grace_s: float = 5.0) -> int:
    """SIGTERM every process whose environment carries ``mark``, SIGKILL after ``grace_s``.

    Returns:
        How many processes were found.
    """
    found = []
    for proc in psutil.process_iter():
        # Processes of other users, or that end while being read, are none of ours.
        with contextlib.suppress(psutil.Error):
            if proc.environ().get(MARK_VARIABLE) == mark:
                found.append(proc)
    for proc in found:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(found, timeout=grace_s)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=grace_s)
    return len(found)
