"""The steps of the demo: one trial end to end on the embedded defaults.

Each function is one step of ``flows/demo.py``; they are plain functions so that
they can be tested and reused without Prefect.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from benchlab.agents.pi import PiHarness
from benchlab.cache import ModelCache
from benchlab.config import LocalModel, ModelsFile, TaskSpec, find_task, validate_all
from benchlab.config.cells import Cell, model_cells
from benchlab.download.steps import object_store_endpoint, store_for
from benchlab.engine.binary import find_llama_server, server_version
from benchlab.engine.contention import look
from benchlab.engine.counters import read_counters, token_delta
from benchlab.engine.probe import ProbeSettings, run_probe
from benchlab.engine.server import LlamaServer
from benchlab.errors import EngineError, UsageError
from benchlab.gateway import Gateway
from benchlab.results import EngineInfo, TrialResult
from benchlab.settings import Settings
from benchlab.simulate.engines import failure_reason, model_params
from benchlab.simulate.plan import Target
from benchlab.sources import upload_model
from benchlab.trial import TrialSpec, error_result, run_trial


@dataclass(frozen=True)
class DemoPlan:
    """The validated inputs of the demo."""

    models: ModelsFile
    model: LocalModel
    cell: Cell
    """The first cell of the model's sweep: its first quant under its first engine config."""
    task: TaskSpec
    task_dir: Path
    models_dir: Path


def plan_demo(settings: Settings, task_name: str, model_name: str | None) -> DemoPlan:
    """Validate all configuration and pick the task and the local model to run."""
    models, _ = validate_all(settings.models_file, settings.tasks_dir)
    task = find_task(settings.tasks_dir, task_name)
    local = [m for m in models.models if isinstance(m, LocalModel)]
    if model_name is None:
        if not local:
            raise UsageError(f"{settings.models_file} has no local model to run the demo with")
        model = local[0]
    else:
        chosen = models.get(model_name)
        if not isinstance(chosen, LocalModel):
            raise UsageError(f"model {model_name!r} is an API model; the demo runs a local one")
        model = chosen
    return DemoPlan(
        models=models,
        model=model,
        cell=model_cells(models, model)[0],
        task=task,
        task_dir=settings.tasks_dir.resolve(),
        models_dir=settings.models_file.resolve().parent,
    )


def stage_model(settings: Settings, plan: DemoPlan) -> Path:
    """Put the model into S3 through the store, then fetch it back verified into the cache."""
    with object_store_endpoint(settings) as endpoint:
        store = store_for(endpoint, settings.s3_bucket or plan.models.bucket)
        manifest = upload_model(store, plan.model, plan.cell.quant, base_dir=plan.models_dir)
        cache = ModelCache(
            settings.state_dir / "cache" / "models", store, int(settings.cache_max_gb * 2**30)
        )
        return cache.fetch(manifest)


def install_agent(settings: Settings) -> PiHarness:
    """Install the pinned pi agent into the data directory (once)."""
    harness = PiHarness(version=settings.pi_version)
    harness.install(settings.state_dir)
    return harness


def _template_file(plan: DemoPlan) -> Path | None:
    if plan.model.chat_template_file is None:
        return None
    return (plan.models_dir / plan.model.chat_template_file).resolve()


DEMO_PROBE = ProbeSettings(prompt_tokens=256, gen_tokens=32, repeats=2, warmup=False)
"""A short speed probe: a few seconds on a CPU for the small model."""


def run_on_engine(
    settings: Settings, plan: DemoPlan, model_file: Path, harness: PiHarness
) -> TrialResult:
    """Start llama-server and the gateway, run the trial through them, stop both.

    An engine that does not start still gives a recorded trial, with status ``error``.
    """
    start_ns = time.time_ns()
    binary = find_llama_server(settings.llama_server)
    engine = plan.cell.engine
    context = engine.ctx_size or plan.model.context_size
    server = LlamaServer(
        binary,
        model_file,
        alias=plan.model.name,
        engine=engine,
        model_context_size=plan.model.context_size,
        log_path=settings.state_dir / "logs" / "llama-server.log",
        chat_template=plan.model.chat_template,
        chat_template_file=_template_file(plan),
        start_timeout_s=settings.server_start_timeout_s,
    )
    info = EngineInfo(
        kind="llama-server", version=server_version(binary), flags=tuple(server.argv())
    )
    spec = TrialSpec(
        task=plan.task,
        task_dir=plan.task_dir,
        model=plan.model.name,
        quant=plan.cell.quant,
        cell=plan.cell.id,
        upstream_base_url=server.openai_base_url,
        model_alias=plan.model.name,
        context_window=context // engine.parallel,
        engine=info,
        params=model_params(Target(plan.model, plan.cell.quant, plan.cell)),
    )
    try:
        with server, Gateway() as gateway:
            build = server.engine_build()
            probe = run_probe(server.base_url, DEMO_PROBE).metrics()
            probe_load = look(server.port)
            before = read_counters(server.base_url)
            result = run_trial(
                spec, gateway=gateway, harness=harness, trials_dir=settings.state_dir / "trials"
            )
            counted = token_delta(before, read_counters(server.base_url))
    except EngineError as exc:
        return error_result(spec, harness, f"engine: {failure_reason(exc)}", start_ns)
    stats = server.stats
    info = info.model_copy(
        update={
            "load_time_s": server.load_time_s,
            "peak_rss_bytes": stats.peak_rss_bytes if stats else None,
            "counted_prompt_tokens": counted["prompt_tokens"],
            "counted_output_tokens": counted["predicted_tokens"],
            "probe": probe,
            "build": build,
            "probe_load": probe_load,
        }
    )
    return result.model_copy(update={"engine": info})
