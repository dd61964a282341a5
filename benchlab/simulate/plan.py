"""A sweep expanded: targets (engine cells or API models) x agents x tasks x repeats.

Every trial has a key that names it within its sweep; the sweep id is derived from
what the sweep runs (or is the name the user gave), so the same command twice names
the same trials and a rerun can skip the ones already recorded.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from benchlab.config import ModelsFile, TaskSpec, find_task, validate_all
from benchlab.config.cells import Cell
from benchlab.config.engine import EngineConfig
from benchlab.config.models import ApiModel, LocalModel
from benchlab.config.simulate import SimulateRequest
from benchlab.config.sweep import ENGINE_FIELDS, EngineSweep, expand
from benchlab.errors import UsageError, unknown_name
from benchlab.settings import Settings

API_SLOTS = 4
"""Trials run at once against an API model (it has no server slots to count)."""


@dataclass(frozen=True)
class Target:
    """What answers a trial's model calls: an engine cell, or an API model."""

    model: LocalModel | ApiModel
    quant: str = ""
    cell: Cell | None = None

    @property
    def id(self) -> str:
        """The cell id, or a short stable id of the API model's settings."""
        if self.cell is not None:
            return self.cell.id
        text = json.dumps(self.model.model_dump(mode="json"), sort_keys=True)
        return "api-" + hashlib.sha256(text.encode()).hexdigest()[:8]

    @property
    def slots(self) -> int:
        """How many trials may run against it at once."""
        return self.cell.engine.parallel if self.cell is not None else API_SLOTS

    @property
    def label(self) -> str:
        """``model/quant/id`` for logs."""
        return "/".join(p for p in (self.model.name, self.quant, self.id) if p)


@dataclass(frozen=True)
class TrialKey:
    """One trial of a sweep."""

    sweep: str
    target: str
    task: str
    agent: str
    repeat: int

    @property
    def text(self) -> str:
        """The key as one string, stored as the run's ``trial_key`` tag."""
        return f"{self.target}/{self.task}/{self.agent}/r{self.repeat}"

    @property
    def seed(self) -> int:
        """This repeat's sampling seed: distinct per repeat, the same on a rerun."""
        digest = hashlib.sha256(f"{self.sweep}/{self.text}".encode()).digest()
        return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


@dataclass(frozen=True)
class SimulationPlan:
    """The validated, expanded sweep."""

    sweep_id: str
    request: SimulateRequest
    models: ModelsFile
    models_dir: Path
    tasks: tuple[TaskSpec, ...]
    task_dir: Path
    targets: tuple[Target, ...]

    def keys(self, target: Target) -> list[TrialKey]:
        """The trials of one target, task by task, agent by agent, repeat by repeat."""
        return [
            TrialKey(self.sweep_id, target.id, task.name, agent, repeat)
            for task in self.tasks
            for agent in self.request.agents
            for repeat in range(self.request.repeats)
        ]

    def task(self, name: str) -> TaskSpec:
        """The task called ``name``."""
        return next(t for t in self.tasks if t.name == name)

    @property
    def size(self) -> int:
        """Number of trials in the sweep."""
        return len(self.targets) * len(self.tasks) * len(self.request.agents) * self.request.repeats


def engine_overrides(values: tuple[str, ...]) -> EngineSweep | None:
    """``FIELD=V1,V2`` strings as an engine section.

    Raises:
        UsageError: A malformed entry, an unknown field, or a bad value.
    """
    if not values:
        return None
    data: dict[str, Any] = {}
    for entry in values:
        field, sep, raw = entry.partition("=")
        field = field.strip()
        if not sep or not raw.strip():
            raise UsageError(f"--engine {entry!r}: expected FIELD=VALUE[,VALUE...]")
        if field not in ENGINE_FIELDS:
            raise unknown_name("engine setting", field, list(ENGINE_FIELDS))
        parsed = [yaml.safe_load(v.strip()) for v in raw.split(",")]
        data[field] = parsed if len(parsed) > 1 else parsed[0]
    try:
        return EngineSweep.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"--engine {where}: {first['msg']}") from None


def _targets(models: ModelsFile, request: SimulateRequest) -> list[Target]:
    chosen = [models.get(n) for n in request.models] if request.models else list(models.models)
    if request.providers:
        known = sorted({m.provider for m in models.models})
        for provider in request.providers:
            if provider not in known:
                raise unknown_name("provider", provider, known)
        chosen = [m for m in chosen if m.provider in request.providers]
    override = engine_overrides(request.engine)
    targets: list[Target] = []
    for model in chosen:
        if isinstance(model, ApiModel):
            targets.append(Target(model=model))
            continue
        quants = [q for q in model.quant_tags if not request.quants or q in request.quants]
        engines: list[EngineConfig] = expand(models.engine, model.engine, override)
        for quant in quants:
            for engine in engines:
                resolved = engine.model_copy(
                    update={"ctx_size": engine.ctx_size or model.context_size}
                )
                targets.append(
                    Target(model, quant, Cell(model=model, quant=quant, engine=resolved))
                )
    if request.quants:
        listed = sorted({q for m in chosen if isinstance(m, LocalModel) for q in m.quant_tags})
        for quant in request.quants:
            if quant not in listed:
                raise unknown_name("quant", quant, listed)
    if not targets:
        raise UsageError("nothing to simulate: no model matches the given filters")
    return targets


def sweep_id(request: SimulateRequest, targets: list[Target], tasks: list[TaskSpec]) -> str:
    """The sweep's name, or a hash of what it runs (repeats aside, so that asking for
    more repeats later extends the same sweep)."""
    if request.name:
        return request.name
    content = {
        "targets": sorted(t.id for t in targets),
        "tasks": sorted(t.model_dump_json() for t in tasks),
        "agents": sorted(request.agents),
    }
    text = json.dumps(content, sort_keys=True)
    return "sweep-" + hashlib.sha256(text.encode()).hexdigest()[:10]


def plan_simulation(settings: Settings, request: SimulateRequest) -> SimulationPlan:
    """Validate the configuration and expand the request into a plan.

    Raises:
        ConfigError: ``models.yaml`` or a task file is invalid.
        UsageError: An unknown model, provider, quant, task or agent, or a bad override.
    """
    from benchlab.agents.registry import known_agents

    models, _ = validate_all(settings.models_file, settings.tasks_dir)
    tasks = [find_task(settings.tasks_dir, name) for name in dict.fromkeys(request.tasks)]
    for agent in request.agents:
        if agent not in known_agents(models.agents):
            raise unknown_name("agent", agent, known_agents(models.agents))
    try:
        targets = _targets(models, request)
    except ValueError as exc:  # the product of the engine lists is too large
        raise UsageError(str(exc)) from None
    return SimulationPlan(
        sweep_id=sweep_id(request, targets, tasks),
        request=request,
        models=models,
        models_dir=settings.models_file.resolve().parent,
        tasks=tuple(tasks),
        task_dir=settings.tasks_dir.resolve(),
        targets=tuple(targets),
    )
