"""Configuration files: ``models.yaml`` and ``tasks/*.yaml``, validated with line numbers."""

from benchlab.config.cells import Cell, sweep_cells
from benchlab.config.load import find_task, load_models, load_task, load_tasks, validate_all
from benchlab.config.models import (
    ApiModel,
    EngineConfig,
    EngineSweep,
    LocalModel,
    ModelsFile,
    ModelSpec,
)
from benchlab.config.tasks import Archetype, Check, Limits, Repository, TaskSpec

__all__ = [
    "ApiModel",
    "Archetype",
    "Cell",
    "Check",
    "EngineConfig",
    "EngineSweep",
    "Limits",
    "LocalModel",
    "ModelSpec",
    "ModelsFile",
    "Repository",
    "TaskSpec",
    "find_task",
    "load_models",
    "load_task",
    "load_tasks",
    "sweep_cells",
    "validate_all",
]
