"""Peak resident memory of a process tree, sampled in a background thread."""

from __future__ import annotations

import contextlib
import threading

import psutil


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and its children now; 0 when it is gone."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for proc in procs:
        # A child may exit between listing and reading; it then counts as 0.
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


class PeakRssSampler:
    """Samples a process tree's RSS every ``interval_s`` and keeps the maximum."""

    def __init__(self, pid: int, interval_s: float = 0.2) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rss-{pid}", daemon=True)

    def start(self) -> PeakRssSampler:
        """Start sampling."""
        self._thread.start()
        return self

    def sample(self) -> int:
        """Take one sample now (also called at stop, so short peaks near the end count)."""
        self.peak_bytes = max(self.peak_bytes, tree_rss(self.pid))
        return self.peak_bytes

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval_s)

    def stop(self) -> int:
        """Stop sampling; returns the peak in bytes."""
        if self._thread.is_alive():
            self.sample()
            self._stop.set()
            self._thread.join(timeout=5)
        return self.peak_bytes
