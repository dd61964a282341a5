"""How busy the host was while a speed was measured: load, CPUs, other engines.

The same probe gave 1.7 tok/s with another engine running on the host and 24.7 tok/s
without; a speed figure without that context cannot be compared. A sampler runs beside
each trial (and a single look is taken at each speed probe) and records the 1-minute
load average, the CPU count, and how many *other* llama-server processes were running.
"""

from __future__ import annotations

import os
import threading
from urllib.parse import urlparse

import psutil

from benchlab.results import HostLoad

SAMPLE_S = 2.0
"""Seconds between looks at the host while a trial runs."""


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def other_engines(own_port: int | None) -> int:
    """llama-server processes on this host other than the one listening on ``own_port``."""
    count = 0
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            name = proc.info.get("name") or ""
            argv = proc.info.get("cmdline") or []
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if "llama-server" not in name and not any(a.endswith("llama-server") for a in argv[:1]):
            continue
        port = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--port"), None)
        if own_port is not None and port == str(own_port):
            continue
        count += 1
    return count


def port_of(base_url: str) -> int | None:
    """The port of an engine's base URL (``http://127.0.0.1:8080/v1`` -> 8080)."""
    try:
        return urlparse(base_url).port
    except ValueError:
        return None


def look(own_port: int | None) -> HostLoad:
    """One look at the host now."""
    load = os.getloadavg()[0]
    return HostLoad(
        cpus=_cpus(),
        load_avg_mean=load,
        load_avg_max=load,
        other_engines_max=other_engines(own_port),
        samples=1,
    )


class LoadSampler:
    """Looks at the host every :data:`SAMPLE_S` seconds from ``start`` to ``stop``.

    Example:
        with LoadSampler(own_port=8080) as sampler:
            run_the_trial()
        sampler.result()
    """

    def __init__(self, own_port: int | None, interval_s: float = SAMPLE_S) -> None:
        self.own_port = own_port
        self.interval_s = interval_s
        self._looks: list[HostLoad] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="host-load", daemon=True)

    def _run(self) -> None:
        while True:
            self._looks.append(look(self.own_port))
            if self._stop.wait(self.interval_s):
                return

    def start(self) -> LoadSampler:
        """Start looking (the first look is taken at once)."""
        self._thread.start()
        return self

    def stop(self) -> HostLoad | None:
        """Stop looking; safe to call twice. Returns :meth:`result`."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval_s + 5)
        return self.result()

    def __enter__(self) -> LoadSampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def result(self) -> HostLoad | None:
        """The load over the looks taken; None when none was."""
        looks = list(self._looks)
        if not looks:
            return None
        return HostLoad(
            cpus=looks[0].cpus,
            load_avg_mean=sum(x.load_avg_mean for x in looks) / len(looks),
            load_avg_max=max(x.load_avg_max for x in looks),
            other_engines_max=max(x.other_engines_max for x in looks),
            samples=len(looks),
        )
