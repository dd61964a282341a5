"""llama-server in a container of the backend's image, measured while it runs.

The container shares the host's network namespace (``network_mode=host``) and the
server binds ``127.0.0.1:<free port>``: hosts without a docker bridge (rootless or
nested daemons) can run it, and the server is still reachable from this host only.
The model and a chat template file are bind-mounted read-only at their host paths,
so the command line is the one :func:`~benchlab.engine.argv.build_argv` builds.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

import requests
from docker.client import DockerClient
from docker.errors import DockerException, ImageNotFound, NotFound
from docker.models.containers import Container
from docker.types import Mount

from benchlab.config.models import EngineConfig
from benchlab.engine.argv import build_argv
from benchlab.engine.crash import LOG_LINES, explain_exit
from benchlab.engine.docker_resources import ContainerMemorySampler, device_options
from benchlab.engine.launcher import ServerStats, fetch_props
from benchlab.engine.vram import PeakVramSampler
from benchlab.errors import EngineError
from benchlab.services.guardian import run_labels
from benchlab.services.process import free_port, http_ok, last_lines

log = logging.getLogger(__name__)

# The SDK raises its own errors for answers and requests' for a daemon that is gone.
DOCKER_ERRORS = (DockerException, requests.RequestException)

LABEL = "benchlab.role"
"""Label on every engine container, to find leftovers with ``docker ps --filter``."""


class DockerLlamaServer:
    """llama-server in a container; a context manager that always removes the container.

    Example:
        with DockerLlamaServer(gguf, alias="m", engine=cfg, model_context_size=8192,
                               log_path=log) as server:
            call(server.openai_base_url)
        server.stats.peak_rss_bytes
    """

    def __init__(
        self,
        model_path: Path,
        *,
        alias: str,
        engine: EngineConfig,
        model_context_size: int,
        log_path: Path,
        image: str | None = None,
        chat_template: str | None = None,
        chat_template_file: Path | None = None,
        port: int | None = None,
        start_timeout_s: float = 120.0,
        stats_interval_s: float = 0.5,
        client: DockerClient | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port if port is not None else free_port(self.host)
        self.alias = alias
        self.engine = engine
        self.image = image or engine.image or ""
        self.log_path = log_path
        self.start_timeout_s = start_timeout_s
        self.stats_interval_s = stats_interval_s
        # The image's entrypoint is llama-server; the command is everything after it.
        self._command = build_argv(
            Path("llama-server"),
            model_path.resolve(),
            alias=alias,
            engine=engine,
            ctx_size=engine.ctx_size or model_context_size,
            host=self.host,
            port=self.port,
            chat_template=chat_template,
            chat_template_file=chat_template_file.resolve() if chat_template_file else None,
        )[1:]
        mounted = [
            model_path.resolve(),
            *([chat_template_file.resolve()] if chat_template_file else []),
        ]
        self._mounts = [Mount(str(p), str(p), type="bind", read_only=True) for p in mounted]
        self.name = (
            f"benchlab-llama-{re.sub(r'[^a-zA-Z0-9_.-]', '-', alias)}-{uuid.uuid4().hex[:8]}"
        )
        self._client = client
        self._container: Container | None = None
        self._memory: ContainerMemorySampler | None = None
        self._vram: PeakVramSampler | None = None
        self.load_time_s: float | None = None
        self.props: dict[str, Any] = {}
        self.stats: ServerStats | None = None

    def argv(self) -> list[str]:
        """The server's command line inside the container (after the image's entrypoint)."""
        return list(self._command)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:port`` of the server."""
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """The OpenAI-compatible base URL (``.../v1``)."""
        return f"{self.base_url}/v1"

    @property
    def build_info(self) -> str:
        """llama.cpp's ``build_info`` from ``/props``; empty before the start."""
        return str(self.props.get("build_info", ""))

    @property
    def peak_rss_bytes(self) -> int:
        """Peak container memory (working set) sampled so far."""
        return self._memory.peak_bytes if self._memory else 0

    def _docker(self) -> DockerClient:
        if self._client is None:
            try:
                self._client = DockerClient.from_env()
            except DockerException as exc:
                raise EngineError(f"docker daemon not reachable: {exc}") from None
        return self._client

    def _ensure_image(self, client: DockerClient) -> None:
        try:
            client.images.get(self.image)
        except ImageNotFound:
            try:
                client.images.pull(self.image)
            except DockerException as exc:
                raise EngineError(
                    f"image {self.image} is not here and cannot be pulled ({exc}); "
                    "build a local one with `benchlab images build`"
                ) from None

    def start(self) -> DockerLlamaServer:
        """Start the container and wait for ``/health``.

        Raises:
            EngineError: The container exited before it was healthy (the message carries
                its last log lines), ``/health`` timed out, or docker failed.
        """
        client = self._docker()
        try:
            self._ensure_image(client)
            self._container = client.containers.create(
                self.image,
                self._command,
                name=self.name,
                network_mode="host",
                mounts=self._mounts,
                labels={LABEL: "engine", **run_labels()},
                **device_options(self.engine.backend),
            )
            self._vram = PeakVramSampler().start()
            started = time.monotonic()
            self._container.start()
            self._memory = ContainerMemorySampler(
                client, self._container.id or self.name, self.stats_interval_s
            ).start()
            self._wait_healthy(started)
            self.load_time_s = time.monotonic() - started
            self.props = fetch_props(self.base_url)
        except DOCKER_ERRORS as exc:
            self.stop()
            raise EngineError(f"docker failed to run {self.image}: {exc}") from None
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self, started: float) -> None:
        while not http_ok(f"{self.base_url}/health", timeout_s=1.0):
            if not self.alive():
                raise EngineError(
                    explain_exit(
                        f"llama-server container ({self.alias}, {self.image})",
                        self._exit_code(),
                        "before it was ready",
                        self.log_lines(),
                    )
                )
            if time.monotonic() - started > self.start_timeout_s:
                raise EngineError(
                    f"llama-server container ({self.alias}) not ready after "
                    f"{self.start_timeout_s:.0f}s; last log lines:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def _state(self) -> dict[str, Any]:
        if self._container is None:
            return {}
        try:
            self._container.reload()
        except DOCKER_ERRORS:
            return {}
        return dict(self._container.attrs.get("State") or {})

    def _exit_code(self) -> int | None:
        code = self._state().get("ExitCode")
        return int(code) if code is not None else None

    def alive(self) -> bool:
        """Whether the container is still running."""
        return bool(self._state().get("Running"))

    def log_lines(self, lines: int = LOG_LINES) -> list[str]:
        """The container's last non-empty output lines, for error messages."""
        if self._container is None:
            return []
        try:
            # More than asked for: the last lines of a dying server are often blank.
            text = bytes(self._container.logs(tail=lines * 4)).decode(errors="replace")
        except DOCKER_ERRORS:
            return []
        return last_lines(text, lines)

    def log_tail(self, lines: int = 20) -> str:
        """The container's last non-empty output lines as one text."""
        return "\n".join(self.log_lines(lines))

    def check_alive(self) -> None:
        """Raise if the server died (killed, crashed, out of memory).

        Raises:
            EngineError: With the exit code and the last log lines.
        """
        if not self.alive():
            raise EngineError(
                explain_exit(
                    f"llama-server container ({self.alias})",
                    self._exit_code(),
                    "while serving",
                    self.log_lines(),
                )
            )

    def stop(self) -> ServerStats:
        """Stop and remove the container, keeping its log; safe to call twice."""
        peak = self._memory.stop() if self._memory else 0
        peak_vram = self._vram.stop() if self._vram else None
        exit_code = self.stats.exit_code if self.stats else None
        container, self._container = self._container, None
        if container is None and self.stats is None and self._client is not None:
            # Interrupted between create and the assignment: find it by its unique name.
            with contextlib.suppress(*DOCKER_ERRORS):
                container = self._client.containers.get(self.name)
        if container is not None:
            try:
                with contextlib.suppress(*DOCKER_ERRORS):
                    container.stop(timeout=10)
                    exit_code = int(container.wait(timeout=30).get("StatusCode", -1))
                with contextlib.suppress(*DOCKER_ERRORS, OSError):
                    self.log_path.parent.mkdir(parents=True, exist_ok=True)
                    self.log_path.write_bytes(bytes(container.logs()))
            finally:
                self._remove(container)
        self.stats = ServerStats(
            load_time_s=self.load_time_s or 0.0,
            build_info=self.build_info,
            peak_rss_bytes=peak,
            props=self.props,
            exit_code=exit_code,
            peak_vram_bytes=peak_vram,
        )
        return self.stats

    def _remove(self, container: Container) -> None:
        try:
            container.remove(force=True)
        except NotFound:
            pass
        except DOCKER_ERRORS as exc:
            # Raising here would hide the error that brought us here.
            log.warning("could not remove container %s: %s", self.name, exc)

    def __enter__(self) -> DockerLlamaServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
