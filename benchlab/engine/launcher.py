"""What every way of running llama-server offers: a native process or a container.

Both :class:`~benchlab.engine.server.LlamaServer` (a process on this host) and
:class:`~benchlab.engine.docker_server.DockerLlamaServer` (a container) satisfy
:class:`EngineLauncher`, so the trial code starts, measures and stops either the same
way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

import httpx

from benchlab.errors import EngineError


@dataclass(frozen=True)
class ServerStats:
    """What a llama-server run measured: load time, build, peak memory."""

    load_time_s: float
    """Seconds from start (process or container) to a healthy ``/health``."""

    build_info: str
    """``build_info`` from ``/props`` (e.g. ``b6500-abc1234``)."""

    peak_rss_bytes: int
    """Highest sampled host memory of the server: the process tree's resident memory
    (native), or the container's memory use less its inactive file cache, as
    ``docker stats`` counts it (docker)."""

    props: dict[str, Any] = field(default_factory=dict)
    """``/props`` as the server answered it, without the (long) chat template."""

    exit_code: int | None = None
    """The exit code after stop; negative for a signal (native)."""

    peak_vram_bytes: int | None = None
    """Highest sampled GPU memory in use above what was in use before the start, over
    all GPUs (device-wide, from nvidia-smi or rocm-smi); None where neither tool runs."""


def fetch_props(base_url: str) -> dict[str, Any]:
    """``/props`` of a running server, without the (long) chat template.

    Raises:
        EngineError: The server did not answer with JSON.
    """
    try:
        answer = httpx.get(f"{base_url}/props", timeout=10.0)
        answer.raise_for_status()
        props = dict(answer.json())
    except (httpx.HTTPError, ValueError) as exc:
        raise EngineError(f"llama-server /props failed: {exc}") from None
    props.pop("chat_template", None)
    return props


@runtime_checkable
class EngineLauncher(Protocol):
    """A llama-server that can be started, watched and stopped; a context manager.

    Leaving the ``with`` block stops the server and releases everything it held, on
    every exit path (an exception, ``KeyboardInterrupt``); the log stays in
    :attr:`log_path`.
    """

    alias: str
    """The model name the server answers to."""

    log_path: Path
    """The server's output, kept after it stops."""

    load_time_s: float | None
    """Seconds to a healthy ``/health``; None before that."""

    props: dict[str, Any]
    """``/props`` once started."""

    stats: ServerStats | None
    """The run's measurements, once stopped."""

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the server."""
        ...

    @property
    def openai_base_url(self) -> str:
        """The OpenAI-compatible base URL (``.../v1``)."""
        ...

    @property
    def build_info(self) -> str:
        """llama.cpp's ``build_info`` from ``/props``; empty before the start."""
        ...

    @property
    def peak_rss_bytes(self) -> int:
        """Peak host memory sampled so far."""
        ...

    def start(self) -> Self:
        """Start the server and wait until it is healthy.

        Raises:
            EngineError: It exited before it was healthy (with its last log lines) or
                did not become healthy in time.
        """
        ...

    def alive(self) -> bool:
        """Whether the server is still running."""
        ...

    def check_alive(self) -> None:
        """Raise :class:`~benchlab.errors.EngineError` if the server died."""
        ...

    def stop(self) -> ServerStats:
        """Stop the server and release it; safe to call twice."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
