"""What a target's trials talk to: a llama-server started for the cell, or an API."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from benchlab.config.models import ApiModel, LocalModel
from benchlab.engine.binary import find_llama_server, server_version
from benchlab.engine.contention import look
from benchlab.engine.probe import ProbeSettings, run_probe
from benchlab.engine.server import LlamaServer
from benchlab.results import EngineInfo
from benchlab.settings import Settings, engine_env
from benchlab.simulate.plan import SimulationPlan, Target


@dataclass
class Upstream:
    """An OpenAI-compatible endpoint for one target, while it is up."""

    base_url: str
    """Base URL ending in ``/v1``."""
    alias: str
    """The model name it expects."""
    context_window: int
    """Context tokens per trial (the server's context divided among its slots)."""
    info: EngineInfo
    """What is known of the engine so far (load time, probe, memory)."""
    api_key: str | None = None
    """The provider's key, held by the gateway only."""
    alive: Callable[[], bool] = field(default=lambda: True)
    """Whether the engine still runs."""
    peak_rss: Callable[[], int | None] = field(default=lambda: None)
    """Peak resident memory of the engine so far."""
    peak_vram: Callable[[], int | None] = field(default=lambda: None)
    """Peak GPU memory in use so far."""

    def engine_now(self) -> EngineInfo:
        """The engine info with the memory peaks measured so far."""
        return self.info.model_copy(
            update={"peak_rss_bytes": self.peak_rss(), "peak_vram_bytes": self.peak_vram()}
        )


def probe_settings(settings: Settings) -> ProbeSettings:
    """The speed probe run on every cell, sized by settings."""
    return ProbeSettings(
        prompt_tokens=settings.probe_prompt_tokens,
        gen_tokens=settings.probe_gen_tokens,
        repeats=settings.probe_repeats,
        warmup=False,
    )


@contextmanager
def open_upstream(
    settings: Settings,
    plan: SimulationPlan,
    target: Target,
    model_file: Path | None,
    role: str = "",
) -> Iterator[Upstream]:
    """Start the target's engine (nothing for an API model) and stop it on exit.

    ``role`` names what the engine serves besides trials (``judge``): its log is kept
    apart, ``llama-server-<role>-<cell>.log``, so that it never overwrites the log of the
    same cell serving trials.

    Raises:
        EngineError: The server did not start or the probe failed.
    """
    model = target.model
    if isinstance(model, ApiModel):
        yield Upstream(
            base_url=model.base_url.rstrip("/"),
            alias=model.model or model.name,
            context_window=model.context_size,
            info=EngineInfo(kind="api", version=model.provider),
            api_key=settings.api_key(model.api_key_env),
        )
        return
    assert target.cell is not None and model_file is not None
    engine = target.cell.engine
    binary = find_llama_server(settings.llama_server)
    template = (
        (plan.models_dir / model.chat_template_file).resolve() if model.chat_template_file else None
    )
    server = LlamaServer(
        binary,
        model_file,
        alias=model.name,
        engine=engine,
        model_context_size=model.context_size,
        log_path=settings.state_dir / "logs" / engine_log_name(target.id, role),
        chat_template=model.chat_template,
        chat_template_file=template,
        start_timeout_s=settings.server_start_timeout_s,
        # A cell holding one GPU's slot (see slots.py) has settings listing only that GPU.
        env=engine_env(settings.gpus[0] if len(settings.gpus) == 1 else None),
    )
    context = engine.ctx_size or model.context_size
    with server:
        probe = run_probe(server.base_url, probe_settings(settings)).metrics()
        yield Upstream(
            base_url=server.openai_base_url,
            alias=model.name,
            context_window=context // engine.parallel,
            info=EngineInfo(
                kind="llama-server",
                version=server_version(binary),
                flags=tuple(server.argv()),
                load_time_s=server.load_time_s,
                probe=probe,
                probe_load=look(server.port),
                build=server.engine_build(),
            ),
            alive=server.alive,
            peak_rss=lambda: server.peak_rss_bytes,
            peak_vram=lambda: server.peak_vram_bytes,
        )


def engine_log_name(cell: str, role: str = "") -> str:
    """The log file of a cell's engine: ``llama-server-<cell>.log``, or with a role
    (``judge``) ``llama-server-judge-<cell>.log``."""
    return f"llama-server-{role}-{cell}.log" if role else f"llama-server-{cell}.log"


_LOG_ERROR = re.compile(r"^(?:[\d.]+ +)?(?:E +|error: *)(?P<message>.+)$")
"""An error line of llama-server's log: ``0.00.006.175 E gguf_init...`` (timestamped,
level E) or ``error: invalid argument: --foo`` (from the argument parser)."""


def failure_reason(error: BaseException, context_lines: int = 3) -> str:
    """Why an engine failed, on one line: the error's first line and, when the error
    carries the server's log, the server's own first error message, or else its last
    log lines.

    A start failure's first line says how the server exited (a signal is named, with its
    usual fix); what was wrong (a bad flag, a corrupt GGUF) is in the log lines after it.
    """
    lines = str(error).splitlines()
    if not lines:
        return type(error).__name__
    head = re.sub(r"[;:]? *last log lines:?$", "", lines[0]).rstrip(" ;:")
    log = [line.strip() for line in lines[1:] if line.strip() and not line.startswith("log: ")]
    found = (_LOG_ERROR.match(line) for line in log)
    own = next((m.group("message").strip() for m in found if m), None)
    if own:
        return f"{head}: {own}"
    if log:
        return f"{head}; last log lines: " + " | ".join(log[-context_lines:])
    return head


NATIVE_LAUNCHER = "native"
"""How trial engines are started: a llama-server process on this host."""


def model_params(target: Target) -> dict[str, str]:
    """Run params for the model and engine (``model.*``, ``quant``, ``engine.*``)."""
    model = target.model
    params = {"model.name": model.name, "model.provider": model.provider}
    if isinstance(model, LocalModel):
        params |= {
            "model.repo_id": model.repo_id,
            "model.revision": model.revision,
            "model.source": model.source or "hub",
            "quant": target.quant,
        }
    else:
        params |= {"model.base_url": model.base_url, "model.id": model.model or model.name}
    if target.cell is not None:
        # Every cell's engine runs as a native process today: the container image a
        # config names was not used, so it is not recorded as if it had been.
        params["engine.launcher"] = NATIVE_LAUNCHER
        for key, value in target.cell.engine.model_dump(exclude={"image"}).items():
            params[f"engine.{key}"] = " ".join(value) if isinstance(value, tuple) else str(value)
    return params
