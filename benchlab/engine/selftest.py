"""Prove that a llama-server build works on this host: start it, generate, stop it.

Finding the binary and reading its version proves little: a build for CPU features this
host lacks prints its version and then dies on the first matrix multiply. Only a short
generation on a real model shows that the engine can serve.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchlab.config.models import EngineConfig
from benchlab.engine.server import LlamaServer
from benchlab.errors import EngineError
from benchlab.results import EngineBuild

SELFTEST_ENGINE = EngineConfig(ctx_size=512, parallel=1, threads=2, threads_batch=2)
"""A small context: the self-test needs a few tokens, not a model's full window."""


@dataclass(frozen=True)
class SelfTest:
    """What a self-test showed."""

    build: EngineBuild
    """The build that ran."""

    tokens: int
    """Tokens the server generated."""

    seconds: float
    """Wall time of the generation request (gateway-free, measured here)."""

    load_s: float
    """Seconds from the start of the process to a healthy server."""


def run_selftest(
    binary: Path,
    model_file: Path,
    log_path: Path,
    *,
    tokens: int = 8,
    start_timeout_s: float = 120.0,
) -> SelfTest:
    """Start ``binary`` on ``model_file``, generate ``tokens`` tokens, stop it.

    Raises:
        EngineError: The server did not start (the message names a signal and its fix,
            with the last log lines), did not answer, or generated nothing.
    """
    log_path.unlink(missing_ok=True)  # one run's log, not an append of every run
    server = LlamaServer(
        binary,
        model_file,
        alias="selftest",
        engine=SELFTEST_ENGINE,
        model_context_size=512,
        log_path=log_path,
        start_timeout_s=start_timeout_s,
    )
    with server:
        started = time.monotonic()
        try:
            answer = httpx.post(
                f"{server.base_url}/completion",
                json={"prompt": "def add(a, b):", "n_predict": tokens, "temperature": 0},
                timeout=start_timeout_s,
            )
            answer.raise_for_status()
            generated = int(answer.json().get("tokens_predicted", 0))
        except (httpx.HTTPError, ValueError) as exc:
            server.check_alive()  # a crash mid-generation says so, with its signal
            raise EngineError(f"llama-server did not generate: {exc}") from None
        seconds = time.monotonic() - started
        if generated < 1:
            raise EngineError(f"llama-server generated no token: {answer.text[:200]}")
        return SelfTest(
            build=server.engine_build(),
            tokens=generated,
            seconds=seconds,
            load_s=server.load_time_s or 0.0,
        )
