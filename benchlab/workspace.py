"""A task's workspace: the repository at its pinned ref in a temp dir, set up for the agent."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from benchlab.config.names import git_url
from benchlab.config.tasks import Repository, TaskSpec
from benchlab.errors import BenchlabError, ServiceError
from benchlab.gitdiff import diff, is_allowed
from benchlab.gitrepo import GitError, git, git_env, is_git_repo, resolve_commit
from benchlab.settings import inherited_env
from benchlab.shell import ShellResult, run_shell

__all__ = ["Workspace", "WorkspaceError", "diff", "is_allowed", "prepare_workspace"]

COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache")
"""Caches left by running a plain sample repository in place; they would change its sha."""


class WorkspaceError(BenchlabError):
    """The workspace could not be prepared: clone, checkout or a setup command failed."""


@dataclass(frozen=True)
class Workspace:
    """A prepared workspace."""

    path: Path
    """The work tree the agent works in."""

    base_commit: str
    """The repository commit at the task's ref."""

    start_commit: str
    """What the agent starts from: ``base_commit``, or a commit on top of it that
    snapshots what the setup commands changed; diffs are taken against this."""

    setup: tuple[ShellResult, ...] = ()
    """The setup commands' results, in order."""

    def remove(self) -> None:
        """Delete the workspace's temp dir."""
        shutil.rmtree(self.path.parent, ignore_errors=True)


def prepare_workspace(
    task: TaskSpec,
    task_dir: Path,
    *,
    parent: Path | None = None,
    env: Mapping[str, str] | None = None,
    setup_timeout_s: float = 600.0,
) -> Workspace:
    """Clone or copy the task's repository into a new temp dir and run its setup.

    Args:
        task: The task.
        task_dir: The task file's directory (``repository.path`` is relative to it).
        parent: Where the temp dir is made; the system default if None.
        env: Environment of the setup commands; host PATH/locale/TLS by default.
        setup_timeout_s: Time limit of each setup command.

    Returns:
        The workspace (``<tmp>/repo``); call :meth:`Workspace.remove` when done.

    Raises:
        WorkspaceError: the repository cannot be cloned or checked out, or a setup
            command failed; the message says which and shows its output.
    """
    root = Path(tempfile.mkdtemp(prefix=f"benchlab-{task.name}-", dir=parent))
    path = root / "repo"
    try:
        base = checkout(task.repository, task_dir, path)
        results = run_setup(task.setup, path, env=env, timeout_s=setup_timeout_s)
        start = snapshot(path, base) if results else base
    except GitError as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise WorkspaceError(f"cannot prepare the workspace: {exc}") from None
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return Workspace(path=path, base_commit=base, start_commit=start, setup=results)


def checkout(repository: Repository, task_dir: Path, dest: Path) -> str:
    """Put the repository at its ref into ``dest`` (which must not exist).

    Returns:
        The base commit sha.

    Raises:
        WorkspaceError: unsafe url/ref, missing source, or git failed.
    """
    env = git_env()
    try:
        if repository.url is not None:
            if repository.url.startswith("-"):
                raise WorkspaceError(f"refusing url {repository.url!r}: it starts with '-'")
            # Checked again here: a spec may have been built without validation.
            git_url(repository.url)
            git(["clone", "--no-checkout", "--", repository.url, str(dest)], cwd=task_dir, env=env)
        else:
            source = (task_dir / str(repository.path)).resolve()
            if not source.is_dir():
                raise WorkspaceError(f"repository path {source} is not a directory")
            if is_git_repo(source):
                git(["clone", "--no-checkout", "--", str(source), str(dest)], cwd=task_dir, env=env)
            else:
                return commit_plain_copy(source, dest)
        sha = resolve_commit(dest, repository.ref, env)
        git(["checkout", "--quiet", "--detach", sha], cwd=dest, env=env)
        return sha
    except (GitError, OSError, ValueError) as exc:
        raise WorkspaceError(f"cannot check out the task repository: {exc}") from None


def commit_plain_copy(source: Path, dest: Path) -> str:
    """Copy a plain directory and commit it with a fixed identity and date.

    The same files give the same sha on every machine.

    Returns:
        The commit sha.
    """
    shutil.copytree(source, dest, symlinks=True, ignore=COPY_IGNORE)
    env = git_env()
    git(["init", "--quiet", "--initial-branch=main"], cwd=dest, env=env)
    git(["add", "--all"], cwd=dest, env=env)
    git(["commit", "--quiet", "--no-verify", "--allow-empty", "-m", "initial"], cwd=dest, env=env)
    return git(["rev-parse", "HEAD"], cwd=dest, env=env).strip()


def run_setup(
    commands: tuple[str, ...],
    workspace: Path,
    *,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 600.0,
) -> tuple[ShellResult, ...]:
    """Run the setup commands in order; stop at the first failure.

    Raises:
        WorkspaceError: a command failed, timed out or could not start.
    """
    child_env = inherited_env() if env is None else dict(env)
    results = []
    for command in commands:
        try:
            result = run_shell(command, cwd=workspace, env=child_env, timeout_s=timeout_s)
        except ServiceError as exc:
            raise WorkspaceError(f"setup command {command!r} could not start: {exc}") from None
        results.append(result)
        if result.timed_out or result.exit_code != 0:
            how = (
                f"timed out after {timeout_s:g}s"
                if result.timed_out
                else (f"exited with code {result.exit_code}")
            )
            raise WorkspaceError(
                f"setup command {command!r} {how}; output:\n{result.output[-4000:]}"
            )
    return tuple(results)


def snapshot(workspace: Path, base: str) -> str:
    """A commit of the work tree after setup, on top of ``base``; HEAD does not move.

    Setup output that is not ignored (build files, installed deps) then stays out of
    the agent's diff. The commit is kept alive by ``refs/benchlab/setup``.

    Returns:
        The snapshot's sha (``base`` itself when setup changed nothing).
    """
    with tempfile.TemporaryDirectory(prefix="benchlab-snap-") as tmp:
        env = {**git_env(), "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git(["read-tree", base], cwd=workspace, env=env)
        git(["add", "--all", "--", "."], cwd=workspace, env=env)
        tree = git(["write-tree"], cwd=workspace, env=env).strip()
        if tree == git(["rev-parse", f"{base}^{{tree}}"], cwd=workspace, env=env).strip():
            return base
        sha = git(
            ["commit-tree", tree, "-p", base, "-m", "benchlab setup"], cwd=workspace, env=env
        ).strip()
    git(["update-ref", "refs/benchlab/setup", sha], cwd=workspace, env=git_env())
    return sha


def regular_file_inside(root: Path, relative: str | Path) -> Path | None:
    """``root / relative`` when it is a regular file inside ``root`` once links are
    followed, else None: the agent may have planted a link out of its workspace, or a
    FIFO that would block whoever reads it."""
    target = (root / relative).resolve()
    if not target.is_relative_to(root.resolve()) or not target.is_file():
        return None
    return target
