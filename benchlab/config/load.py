"""Load and validate configuration files, collecting every problem before any work."""

from __future__ import annotations

from pathlib import Path

from benchlab.config.models import ModelsFile
from benchlab.config.offline import models_problems, task_problems
from benchlab.config.tasks import TaskSpec
from benchlab.config.validation import validate_doc
from benchlab.config.yamlsource import read_yaml
from benchlab.errors import ConfigError, Problem, unknown_name


def load_models(path: Path, *, offline_checks: bool = False) -> ModelsFile:
    """Validate ``models.yaml``.

    Args:
        path: The file.
        offline_checks: Also check that the files it names (chat templates, ``file:``
            sources) exist.
    """
    doc = read_yaml(path)
    models = validate_doc(doc, ModelsFile)
    if offline_checks and (problems := models_problems(models, path, doc)):
        raise ConfigError(problems)
    return models


def load_task(path: Path, *, offline_checks: bool = False) -> TaskSpec:
    """Validate one task file; its ``name`` must match the file name.

    Args:
        path: The task file.
        offline_checks: Also check what the file system can tell: a local repository
            exists, is a directory, and (a git repository) has the ref.
    """
    doc = read_yaml(path)
    task = validate_doc(doc, TaskSpec)
    problems = []
    if task.name != path.stem:
        line = doc.line_of(("name",))
        problems.append(Problem(str(path), line, "name", f"must match the file name {path.stem!r}"))
    if offline_checks:
        problems += task_problems(task, path, doc)
    if problems:
        raise ConfigError(problems)
    return task


def task_files(tasks_dir: Path) -> list[Path]:
    """The task files in ``tasks_dir``, sorted by name."""
    if not tasks_dir.is_dir():
        return []
    return sorted(p for p in tasks_dir.glob("*.yaml") if p.is_file())


def load_tasks(tasks_dir: Path, *, offline_checks: bool = False) -> dict[str, TaskSpec]:
    """Every task in ``tasks_dir``, by name; all files' problems are reported together."""
    tasks: dict[str, TaskSpec] = {}
    problems: list[Problem] = []
    for path in task_files(tasks_dir):
        try:
            task = load_task(path, offline_checks=offline_checks)
        except ConfigError as exc:
            problems.extend(exc.problems)
        else:
            tasks[task.name] = task
    if problems:
        raise ConfigError(problems)
    return tasks


def find_task(tasks_dir: Path, name: str) -> TaskSpec:
    """The task called ``name``; an unknown name lists the valid ones."""
    path = tasks_dir / f"{name}.yaml"
    if "/" in name or name.startswith(".") or not path.is_file():
        raise unknown_name("task", name, [p.stem for p in task_files(tasks_dir)])
    return load_task(path)


def validate_all(models_path: Path, tasks_dir: Path) -> tuple[ModelsFile, dict[str, TaskSpec]]:
    """Validate ``models.yaml`` and every task, and what the file system can tell of them
    (local repositories and refs, template files), raising one error with all problems."""
    problems: list[Problem] = []
    models: ModelsFile | None = None
    tasks: dict[str, TaskSpec] = {}
    try:
        models = load_models(models_path, offline_checks=True)
    except ConfigError as exc:
        problems.extend(exc.problems)
    try:
        tasks = load_tasks(tasks_dir, offline_checks=True)
    except ConfigError as exc:
        problems.extend(exc.problems)
    if problems or models is None:
        raise ConfigError(problems)
    return models, tasks
