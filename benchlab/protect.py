"""Protected paths: what the agent changed of them, and putting them back before checks.

A task protects its tests and check scripts so that an agent cannot pass by editing
them. The check always sees the files of the start commit; the trial records which
protected paths the agent touched, so the result can be tagged ``tampered``.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from benchlab.gitdiff import is_allowed
from benchlab.gitrepo import GitError, git


def touched(changed_files: Sequence[str], protected: Sequence[str]) -> tuple[str, ...]:
    """The changed files that lie under a protected path (component-wise)."""
    if not protected:
        return ()
    return tuple(f for f in changed_files if is_allowed(f, protected))


def restore(workspace: Path, start_commit: str, protected: Sequence[str]) -> None:
    """Make every protected path exactly what it was at ``start_commit``.

    Files the agent added under a protected path are removed; changed or deleted ones
    come back from the commit.

    Raises:
        GitError: git could not restore a path.
        ValueError: a protected path leads outside the workspace.
    """
    root = workspace.resolve()
    for path in protected:
        target = workspace / path.strip("/")
        # A symlink the agent planted must not make us delete outside the workspace.
        if not target.parent.resolve().is_relative_to(root):
            raise ValueError(f"protected path {path!r} leads outside the workspace")
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir():
            shutil.rmtree(target)
        if _in_commit(workspace, start_commit, path):
            git(["checkout", start_commit, "--", path.strip("/")], cwd=workspace)


def _in_commit(workspace: Path, commit: str, path: str) -> bool:
    try:
        listed = git(["ls-tree", "--name-only", commit, "--", path.strip("/")], cwd=workspace)
    except GitError:
        return False
    return bool(listed.strip())
