"""Stuck detection: no model call and no change in the workspace for too long."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from types import TracebackType

from benchlab.agents.runner import StopSignal

Fingerprint = tuple[int, int, int]


def workspace_fingerprint(root: Path) -> Fingerprint:
    """Files, total size and newest mtime under ``root``, ``.git`` aside: cheap, and any
    write, creation or deletion changes it."""
    files = size = newest = 0
    stack = [str(root)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != ".git":
                        stack.append(entry.path)
                    continue
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            files += 1
            size += info.st_size
            newest = max(newest, info.st_mtime_ns)
    return files, size, newest


class StuckWatch:
    """Fires ``signal`` when neither ``activity()`` nor the workspace changes for
    ``stuck_after_s``; a context manager running one daemon thread."""

    def __init__(
        self,
        signal: StopSignal,
        workspace: Path,
        activity: Callable[[], Hashable],
        stuck_after_s: float,
        poll_s: float | None = None,
    ) -> None:
        """Create the watch.

        Args:
            signal: What to fire.
            workspace: The agent's workspace.
            activity: A value that changes whenever the agent calls the model (and
                stays changing while a call is in flight).
            stuck_after_s: Idle time after which the agent counts as stuck.
            poll_s: How often to look; a quarter of ``stuck_after_s`` by default.
        """
        self.signal = signal
        self.workspace = workspace
        self.activity = activity
        self.stuck_after_s = stuck_after_s
        self.poll_s = poll_s or min(max(stuck_after_s / 4, 0.2), 15.0)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="stuck-watch", daemon=True)

    def _state(self) -> tuple[Hashable, Fingerprint]:
        return self.activity(), workspace_fingerprint(self.workspace)

    def _watch(self) -> None:
        last_state, last_change = self._state(), time.monotonic()
        while not self._done.wait(self.poll_s):
            state = self._state()
            now = time.monotonic()
            if state != last_state:
                last_state, last_change = state, now
            elif now - last_change >= self.stuck_after_s:
                self.signal.set(
                    f"stuck: no model call and no workspace change for {self.stuck_after_s:g}s"
                )
                return

    def __enter__(self) -> StuckWatch:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()
        self._thread.join(timeout=5)
