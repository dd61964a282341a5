"""Configuration files: ``models.yaml`` and ``tasks/*.yaml``, validated with line numbers."""

from benchlab.config.load import find_task, load_models, load_task, load_tasks, validate_all
from benchlab.config.models import ApiModel, EngineConfig, LocalModel, ModelsFile, ModelSpec
from benchlab.config.tasks import Archetype, Check, Limits, Repository, TaskSpec

__all__ = [
    "ApiModel",
    "Archetype",
    "Check",
    "EngineConfig",
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
    "validate_all",
]
