"""One llama-server process with exactly the configured flags, measured while it runs."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from benchlab.config.models import EngineConfig
from benchlab.engine.argv import build_argv
from benchlab.engine.build import describe_build
from benchlab.engine.crash import LOG_LINES, explain_exit
from benchlab.engine.launcher import ServerStats, fetch_props
from benchlab.engine.memory import PeakRssSampler
from benchlab.engine.vram import PeakVramSampler
from benchlab.errors import EngineError, ServiceError
from benchlab.results import EngineBuild
from benchlab.services.process import ManagedProcess, free_port, http_ok, wait_until


class LlamaServer:
    """A running llama-server; a context manager that always stops and reaps it.

    Example:
        with LlamaServer(binary, gguf, alias="m", engine=cfg, model_context_size=8192,
                         log_path=log) as server:
            call(server.openai_base_url)
        server.stats.peak_rss_bytes
    """

    def __init__(
        self,
        binary: Path,
        model_path: Path,
        *,
        alias: str,
        engine: EngineConfig,
        model_context_size: int,
        log_path: Path,
        chat_template: str | None = None,
        chat_template_file: Path | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        start_timeout_s: float = 120.0,
        rss_interval_s: float = 0.2,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.alias = alias
        self.engine = engine
        self.log_path = log_path
        self.start_timeout_s = start_timeout_s
        self._binary = binary
        self._build: EngineBuild | None = None
        self._env = env
        self._argv = build_argv(
            binary,
            model_path,
            alias=alias,
            engine=engine,
            ctx_size=engine.ctx_size or model_context_size,
            host=host,
            port=self.port,
            chat_template=chat_template,
            chat_template_file=chat_template_file,
        )
        self._process = ManagedProcess(self._argv, log_path=log_path, grace_s=10.0, env=env)
        self._sampler: PeakRssSampler | None = None
        self._vram: PeakVramSampler | None = None
        self._rss_interval_s = rss_interval_s
        self.load_time_s: float | None = None
        self.props: dict[str, Any] = {}
        self.stats: ServerStats | None = None

    def argv(self) -> list[str]:
        """The exact command line the server runs with."""
        return list(self._argv)

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the server."""
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """The OpenAI-compatible base URL (``.../v1``)."""
        return f"{self.base_url}/v1"

    @property
    def build_info(self) -> str:
        """llama.cpp's ``build_info`` from ``/props``; empty before the start."""
        return str(self.props.get("build_info", ""))

    def engine_build(self) -> EngineBuild:
        """Which llama.cpp build this is (version, commit, backends, CPU code in use).

        Asked of the binary itself (see :func:`~benchlab.engine.build.describe_build`),
        with the environment the server runs in, so the devices are the ones it sees.

        Raises:
            EngineError: The binary's ``--version`` cannot be run.
        """
        if self._build is None:
            self._build = describe_build(self._binary, self._env)
        return self._build

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self._process.pid

    @property
    def peak_rss_bytes(self) -> int:
        """Peak resident memory sampled so far."""
        return self._sampler.peak_bytes if self._sampler else 0

    @property
    def peak_vram_bytes(self) -> int | None:
        """Peak GPU memory sampled so far (None without nvidia-smi or rocm-smi)."""
        return self._vram.peak_bytes if self._vram is not None else None

    def start(self) -> LlamaServer:
        """Start the server and wait for ``/health``.

        Raises:
            EngineError: The process died before it was healthy (the message carries
                the log tail: a bad flag, a missing file) or ``/health`` timed out.
        """
        started = time.monotonic()
        try:
            # The baseline is taken before the model loads, so the peak is the server's.
            self._vram = PeakVramSampler().start()
            self._process.start()
            self._sampler = PeakRssSampler(self._process.pid, self._rss_interval_s).start()
            wait_until(
                lambda: http_ok(f"{self.base_url}/health", timeout_s=1.0),
                timeout_s=self.start_timeout_s,
                what=f"llama-server ({self.alias})",
                process=self._process,
            )
            self.load_time_s = time.monotonic() - started
            self.props = fetch_props(self.base_url)
        except ServiceError as exc:
            died = not self._process.alive()
            self.stop()
            if died:
                message = explain_exit(
                    f"llama-server ({self.alias})",
                    self._process.returncode(),
                    "before it was ready",
                    self._process.log_lines(LOG_LINES),
                )
                raise EngineError(f"{message}\nlog: {self.log_path}") from None
            raise EngineError(f"{exc}\nlog: {self.log_path}") from None
        except BaseException:
            self.stop()
            raise
        return self

    def alive(self) -> bool:
        """Whether the server process is still running."""
        return self._process.alive()

    def check_alive(self) -> None:
        """Raise if the server died (killed, crashed, out of memory).

        Raises:
            EngineError: With the exit code and the log tail.
        """
        if not self._process.alive():
            raise EngineError(
                explain_exit(
                    f"llama-server ({self.alias})",
                    self._process.returncode(),
                    "while serving",
                    self._process.log_lines(LOG_LINES),
                )
            )

    def stop(self) -> ServerStats:
        """Stop and reap the server; safe to call twice. Returns the run's stats."""
        peak = self._sampler.stop() if self._sampler else 0
        peak_vram = self._vram.stop() if self._vram else None
        self._process.stop()
        self.stats = ServerStats(
            load_time_s=self.load_time_s or 0.0,
            build_info=self.build_info,
            peak_rss_bytes=peak,
            props=self.props,
            exit_code=self._process.returncode(),
            peak_vram_bytes=peak_vram,
        )
        return self.stats

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
