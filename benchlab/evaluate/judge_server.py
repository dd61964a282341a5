"""The judge model's endpoint: the one configured, or a local llama-server.

With no endpoint configured, the first local model of ``models.yaml`` is staged from
the bucket and served the way the simulate stage serves a cell (same staging, same
server start), and stopped when the evaluation ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from benchlab.config import load_models
from benchlab.config.cells import model_cells
from benchlab.config.models import LocalModel
from benchlab.config.simulate import SimulateRequest
from benchlab.errors import BenchlabError
from benchlab.evaluate.request import EvaluateRequest
from benchlab.scoring.endpoint import JudgeEndpoint
from benchlab.settings import Settings
from benchlab.simulate.engines import open_upstream
from benchlab.simulate.plan import SimulationPlan, Target, TrialKey
from benchlab.simulate.stage import stage_models

JUDGE_SWEEP = "judge"
"""The name the judge's one-target plan goes by (it runs no trials)."""


@dataclass(frozen=True)
class JudgeModel:
    """The judge model reached, and a stable name for it (not its port)."""

    endpoint: JudgeEndpoint
    identity: str
    """``URL#model``, or ``local:<model>/<quant>/<cell>#model`` for a local server."""


def _local_target(settings: Settings) -> tuple[SimulationPlan, Target]:
    models = load_models(settings.models_file)
    local = [m for m in models.models if isinstance(m, LocalModel)]
    if not local:
        raise BenchlabError(
            f"no judge endpoint: set BENCHLAB_JUDGE_BASE_URL or --base-url, or list a local "
            f"model in {settings.models_file}"
        )
    cell = model_cells(models, local[0])[0]
    target = Target(local[0], cell.quant, cell)
    plan = SimulationPlan(
        sweep_id=JUDGE_SWEEP,
        request=SimulateRequest(models=(local[0].name,), name=JUDGE_SWEEP),
        models=models,
        models_dir=settings.models_file.resolve().parent,
        tasks=(),
        task_dir=settings.tasks_dir,
        targets=(target,),
    )
    return plan, target


@contextmanager
def local_judge(settings: Settings, request: EvaluateRequest) -> Iterator[JudgeModel]:
    """The first local model of ``models.yaml``, staged and served while in use.

    Raises:
        BenchlabError: No local model, or it could not be staged.
        EngineError: The server did not start.
    """
    plan, target = _local_target(settings)
    # stage_models fetches the models of targets with pending trials: one stand-in key.
    pending = {target.id: [TrialKey(JUDGE_SWEEP, target.id, "judge", "judge", 0)]}
    staged = stage_models(settings, plan, pending)
    key = (target.model.name, target.quant)
    if key not in staged.files:
        reason = staged.failures.get(key, "not staged")
        raise BenchlabError(f"judge model {target.label}: {reason}")
    with open_upstream(settings, plan, target, staged.files[key], role="judge") as upstream:
        endpoint = JudgeEndpoint(
            base_url=upstream.base_url,
            model=request.model or upstream.alias,
            parallelism=min(request.parallel, target.slots),
            timeout_s=settings.judge_timeout_s,
        )
        yield JudgeModel(endpoint, judge_identity(settings, request))


def judge_identity(settings: Settings, request: EvaluateRequest) -> str:
    """A stable name of the judge model a request reaches, without starting it."""
    base_url = request.base_url or settings.judge_base_url
    if base_url is None:
        _, target = _local_target(settings)
        return f"local:{target.label}#{request.model or target.model.name}"
    return f"{base_url.rstrip('/')}#{request.model or settings.judge_model}"


@contextmanager
def judge_model(settings: Settings, request: EvaluateRequest) -> Iterator[JudgeModel]:
    """The request's endpoint, else the configured one, else a local llama-server."""
    base_url = request.base_url or settings.judge_base_url
    if base_url is None:
        with local_judge(settings, request) as local:
            yield local
        return
    model = request.model or settings.judge_model
    endpoint = JudgeEndpoint(
        base_url=base_url.rstrip("/"),
        model=model,
        api_key=settings.judge_api_key,
        parallelism=request.parallel,
        timeout_s=settings.judge_timeout_s,
    )
    yield JudgeModel(endpoint, judge_identity(settings, request))
