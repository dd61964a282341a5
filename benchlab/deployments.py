"""The Prefect deployments ``benchlab serve`` offers.

One deployment per stage and one for the pipeline, served by the ``benchlab serve``
process itself; one pipeline deployment per schedule of ``models.yaml``; and, for a
sweep that fans out over GPU hosts, the per-cell flow deployed to a work pool, whose
runs the workers on those hosts execute.

Forms in the Prefect UI come from the flows' pydantic parameters; the tasks, models
and agents the configuration knows are offered there as choices.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from benchlab.config.load import load_models, load_tasks
from benchlab.settings import Settings

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

REPO_ROOT = Path(__file__).resolve().parents[1]
LOCALTIME = Path("/etc/localtime")
CELL_DEPLOYMENT_TAGS = ["benchlab", "cell"]


@dataclass(frozen=True)
class Choices:
    """What the configuration offers: the values a form may pick from."""

    tasks: tuple[str, ...]
    models: tuple[str, ...]
    agents: tuple[str, ...]


def choices(settings: Settings) -> Choices:
    """The tasks, models and agents of the current configuration.

    Raises:
        ConfigError: ``models.yaml`` or a task file is invalid.
    """
    from benchlab.agents.registry import known_agents

    models = load_models(settings.models_file)
    return Choices(
        tasks=tuple(sorted(load_tasks(settings.tasks_dir))),
        models=tuple(m.name for m in models.models),
        agents=known_agents(models.agents),
    )


def host_zone() -> str:
    """The host's IANA time zone from ``/etc/localtime``; UTC when it cannot be told."""
    try:
        target = LOCALTIME.resolve(strict=True)
    except OSError:
        return "UTC"
    parts = target.parts
    return "/".join(parts[parts.index("zoneinfo") + 1 :]) if "zoneinfo" in parts else "UTC"


def offer_choices(deployment: RunnerDeployment, offered: Choices) -> RunnerDeployment:
    """Drop ``settings`` from the deployment's form (a run reads the worker's own) and
    offer the configuration's names for every ``tasks``, ``models`` and ``agents``."""
    schema = deployment._parameter_openapi_schema
    schema.properties.pop("settings", None)
    schema.definitions.pop("Settings", None)
    lists = {"tasks": offered.tasks, "models": offered.models, "agents": offered.agents}
    forms = [schema.properties, *(d.get("properties", {}) for d in schema.definitions.values())]
    for properties in forms:
        for name, values in lists.items():
            field: dict[str, Any] = properties.get(name) or {}
            # A list of names, or an optional one (``anyOf`` with null).
            for option in [field, *field.get("anyOf", [])]:
                if option.get("type") == "array" and values:
                    option["items"] = {**option.get("items", {}), "enum": list(values)}
    return deployment


def stage_deployments(settings: Settings) -> list[RunnerDeployment]:
    """A deployment per stage, the pipeline's, and one per schedule of ``models.yaml``."""
    from prefect.schedules import Cron

    from benchlab.pipeline import PipelineRequest
    from flows.curate import curate
    from flows.download import download
    from flows.evaluate import evaluate
    from flows.pipeline import pipeline
    from flows.report import report
    from flows.simulate import simulate

    offered = choices(settings)
    tags = ["benchlab"]
    deployments = [
        download.to_deployment("download", tags=tags),
        simulate.to_deployment("simulate", tags=tags),
        curate.to_deployment("curate", tags=tags),
        evaluate.to_deployment("evaluate", tags=tags),
        report.to_deployment("report", tags=tags),
        pipeline.to_deployment("pipeline", tags=tags),
    ]
    for spec in load_models(settings.models_file).schedules:
        request = PipelineRequest(simulate=spec.simulate, evaluate=spec.evaluate)
        deployments.append(
            pipeline.to_deployment(
                spec.name,
                schedule=Cron(spec.cron, timezone=spec.timezone or host_zone()),
                paused=spec.paused,
                parameters={"request": request.model_dump(mode="json")},
                tags=[*tags, "scheduled"],
                description=f"The pipeline on schedule {spec.cron!r}: {spec.simulate}",
            )
        )
    # Called outside an event loop, ``to_deployment`` returns the deployment itself.
    return [offer_choices(cast("RunnerDeployment", d), offered) for d in deployments]


def deploy_cells(settings: Settings, pool: str) -> str:
    """The per-cell flow deployed to ``pool`` (a process pool, made if missing); the
    workers run it from this checkout's path, which every GPU host must share.

    Returns:
        The deployment's id.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists
    from prefect.flows import Flow

    with get_client(sync_client=True) as client, suppress(ObjectAlreadyExists):
        client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
    cell_flow: Any = Flow.from_source(str(REPO_ROOT), "flows/simulate.py:simulate_cell")
    deployment = cell_flow.to_deployment(pool, work_pool_name=pool, tags=CELL_DEPLOYMENT_TAGS)
    offer_choices(deployment, choices(settings))
    return str(deployment.apply())
