"""What an engine container is given and what it uses: GPU devices, sampled memory."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import requests
from docker.client import DockerClient
from docker.errors import DockerException
from docker.types import DeviceRequest


def device_options(backend: str) -> dict[str, Any]:
    """The container options that give a backend its GPU (none for ``cpu``)."""
    if backend == "cuda":
        return {"device_requests": [DeviceRequest(count=-1, capabilities=[["gpu"]])]}
    if backend == "rocm":
        # ROCm needs the compute interface (kfd) and the render nodes, which the
        # video group may open.
        return {
            "devices": ["/dev/kfd:/dev/kfd:rwm", "/dev/dri:/dev/dri:rwm"],
            "group_add": ["video"],
        }
    if backend == "vulkan":
        return {"devices": ["/dev/dri:/dev/dri:rwm"]}
    return {}


def working_set(stats: dict[str, Any]) -> int:
    """A container's memory use less inactive file cache, as ``docker stats`` shows it."""
    memory = stats.get("memory_stats") or {}
    detail = memory.get("stats") or {}
    # cgroup v1 names the counter total_inactive_file, v2 inactive_file.
    inactive = detail.get("total_inactive_file", detail.get("inactive_file", 0))
    return max(0, int(memory.get("usage", 0)) - int(inactive))


class ContainerMemorySampler:
    """Polls a container's stats every ``interval_s`` and keeps the peak working set."""

    def __init__(self, client: DockerClient, container_id: str, interval_s: float) -> None:
        self._client = client
        self._id = container_id
        self.interval_s = interval_s
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="container-mem", daemon=True)

    def start(self) -> ContainerMemorySampler:
        """Start sampling."""
        self._thread.start()
        return self

    def sample(self) -> None:
        """Take one sample now; a container that is gone counts as nothing."""
        with contextlib.suppress(DockerException, requests.RequestException, OSError, ValueError):
            stats = self._client.api.stats(self._id, stream=False, one_shot=True)
            self.peak_bytes = max(self.peak_bytes, working_set(stats))

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval_s)

    def stop(self) -> int:
        """Stop sampling (one last sample first); returns the peak in bytes."""
        if self._thread.is_alive():
            self.sample()
            self._stop.set()
            self._thread.join(timeout=10)
        return self.peak_bytes
