"""What can be verified about a configuration without the network, before any work.

A task whose repository is missing, whose ref names no commit, or a model whose chat
template file is gone would otherwise be found out only after an engine has started,
a minute later, as an error trial.
"""

from __future__ import annotations

from pathlib import Path

from benchlab.config.models import LocalModel, ModelsFile
from benchlab.config.tasks import TaskSpec
from benchlab.config.yamlsource import YamlDoc
from benchlab.errors import Problem
from benchlab.gitrepo import GitError, git_env, is_git_repo, resolve_commit


def task_problems(task: TaskSpec, path: Path, doc: YamlDoc) -> list[Problem]:
    """Problems of a valid task file that only the file system shows.

    Args:
        task: The validated task.
        path: The task file (a repository ``path`` is relative to its directory).
        doc: The parsed file, for line numbers.
    """
    problems: list[Problem] = []
    repo = task.repository
    if repo.path is not None:
        source = (path.parent / repo.path).resolve()
        line = doc.line_of(("repository", "path"))
        if not source.exists():
            problems.append(Problem(str(path), line, "repository.path", f"{source} does not exist"))
        elif not source.is_dir():
            problems.append(
                Problem(str(path), line, "repository.path", f"{source} is not a directory")
            )
        elif is_git_repo(source):
            try:
                resolve_commit(source, repo.ref, git_env())
            except GitError as exc:
                problems.append(
                    Problem(
                        str(path),
                        doc.line_of(("repository", "ref")) or line,
                        "repository.ref",
                        f"{exc} at {source}",
                    )
                )
    return problems


def models_problems(models: ModelsFile, path: Path, doc: YamlDoc) -> list[Problem]:
    """Problems of a valid ``models.yaml`` that only the file system shows: chat template
    files and ``file:`` model sources that do not exist (relative to the file's folder)."""
    problems: list[Problem] = []
    for index, model in enumerate(models.models):
        if not isinstance(model, LocalModel):
            continue
        named: list[tuple[str, str]] = []
        if model.chat_template_file:
            named.append(("chat_template_file", model.chat_template_file))
        if model.source and model.source.startswith("file:"):
            named.append(("source", model.source.removeprefix("file:")))
        for field, value in named:
            target = Path(value).expanduser()
            target = target if target.is_absolute() else path.parent / target
            if not target.is_file():
                problems.append(
                    Problem(
                        str(path),
                        doc.line_of(("models", index, field)),
                        f"models[{index}].{field}",
                        f"{target.resolve()} does not exist or is not a file",
                    )
                )
    return problems
