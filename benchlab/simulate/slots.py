"""Which cells may run at once on an engine host.

Prefect global concurrency limits, one per engine host (or one per GPU when the host
lists its GPUs), shared by every worker and flow that reports to the same Prefect
server: two cells never share a GPU unless ``cells_per_host`` says they may.

Without a configured Prefect server (the temporary one a flow starts itself lives and
dies with that flow, and does not reclaim the slots of a killed one), the same limits
are kernel file locks under the data directory: a process that dies releases them.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from benchlab.settings import Settings

HOST_LIMIT = "benchlab-engine-{host}"
GPU_LIMIT = "benchlab-gpu-{host}-{gpu}"
POLL_S = 2.0
"""Between rounds of asking every GPU's limit for a slot."""


@dataclass(frozen=True)
class EngineSlot:
    """A held slot: the limit it counts against and the GPU it stands for."""

    limit: str
    gpu: str | None
    """The GPU id the cell's engine may use; None: the host's devices as they are."""


def host_limits(settings: Settings) -> dict[str, tuple[int, str | None]]:
    """Limit name to (slots, GPU id) for this host."""
    host = settings.engine_host
    if settings.gpus:
        return {
            GPU_LIMIT.format(host=host, gpu=gpu): (settings.cells_per_host, gpu)
            for gpu in settings.gpus
        }
    return {HOST_LIMIT.format(host=host): (settings.cells_per_host, None)}


def ensure_limits(limits: dict[str, tuple[int, str | None]]) -> None:
    """Create the limits the Prefect server lacks; existing ones keep their values, so
    that a limit changed in the Prefect UI stays changed."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        for name, (slots, _gpu) in limits.items():
            try:
                client.read_global_concurrency_limit_by_name(name)
            except ObjectNotFound:
                with suppress(ObjectAlreadyExists):  # another worker created it first
                    client.create_global_concurrency_limit(
                        GlobalConcurrencyLimitCreate(name=name, limit=slots)
                    )


@contextmanager
def engine_slot(settings: Settings, *, needed: bool = True) -> Iterator[EngineSlot | None]:
    """Hold a slot of this host's engine limit (or of a free GPU's) while the body runs.

    Waits, without limit, until one is free; the slot is released on every exit path.

    Args:
        settings: This host's name, GPUs and cells per host.
        needed: False for a cell that starts no local engine (an API model): no slot.
    """
    from prefect.concurrency.sync import concurrency

    if not needed:
        yield None
        return
    limits = host_limits(settings)
    if not settings.prefect_api_url:
        with _file_slot(settings.state_dir / "locks", limits) as slot:
            yield slot
        return
    ensure_limits(limits)
    if len(limits) == 1:
        ((name, (_slots, gpu)),) = limits.items()
        with concurrency(name, occupy=1, strict=True):
            yield EngineSlot(name, gpu)
        return
    while True:
        for name, (_slots, gpu) in limits.items():
            stack = ExitStack()
            try:
                stack.enter_context(concurrency(name, occupy=1, timeout_seconds=1, strict=True))
            except TimeoutError:
                continue
            with stack:
                yield EngineSlot(name, gpu)
            return
        time.sleep(POLL_S)


@contextmanager
def _file_slot(folder: Path, limits: dict[str, tuple[int, str | None]]) -> Iterator[EngineSlot]:
    """One of the limits' slots as an exclusive lock on a file of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    slots = [(name, gpu, folder / f"{name}.{i}.lock") for name, (n, gpu) in limits.items()
             for i in range(n)]  # fmt: skip
    while True:
        for name, gpu, path in slots:
            with path.open("a") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                try:
                    yield EngineSlot(name, gpu)
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
                return
        time.sleep(POLL_S)


def pinned(settings: Settings, slot: EngineSlot | None) -> Settings:
    """The settings a cell runs with while it holds ``slot``: only its GPU listed."""
    if slot is None or slot.gpu is None:
        return settings
    return settings.model_copy(update={"gpus": (slot.gpu,)})
