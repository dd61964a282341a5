"""What the agent changed: a diff against the start commit, untracked files included."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from benchlab.gitrepo import git, git_env
from benchlab.results import DiffResult


def diff(
    workspace: Path,
    base_commit: str,
    allowed_paths: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
) -> DiffResult:
    """The unified diff of the work tree against ``base_commit``.

    New files count even if the agent never ran ``git add``; ignored files do not.
    The work tree is staged into a temporary index (``GIT_INDEX_FILE``), so the
    agent's own index, commits and branches stay as they are, and commits the agent
    made are part of the diff.

    Args:
        workspace: The git work tree.
        base_commit: The commit the agent started from.
        allowed_paths: Path prefixes the agent is expected to change (whole path
            components: ``src`` allows ``src/a.py``, not ``src2/a.py``); empty = any.
        env: git's environment; by default :func:`benchlab.gitrepo.git_env`.

    Returns:
        Patch, stats, changed paths and the ones outside ``allowed_paths``.

    Raises:
        benchlab.gitrepo.GitError: the workspace is not a usable git repository.
    """
    base_env = git_env() if env is None else dict(env)
    with tempfile.TemporaryDirectory(prefix="benchlab-diff-") as tmp:
        index = Path(tmp) / "index"
        real_index = Path(
            git(["rev-parse", "--git-path", "index"], cwd=workspace, env=base_env).strip()
        )
        real_index = real_index if real_index.is_absolute() else workspace / real_index
        if real_index.is_file():
            # Starting from the real index reuses its stat cache: no re-hashing of
            # unchanged files in big repositories.
            shutil.copyfile(real_index, index)
        run_env = {**base_env, "GIT_INDEX_FILE": str(index)}
        git(["add", "--all", "--", "."], cwd=workspace, env=run_env)
        common = ["diff", "--cached", "--no-color", "--no-ext-diff", "--no-renames"]
        patch = git([*common, base_commit, "--"], cwd=workspace, env=run_env)
        numstat = git([*common, "--numstat", "-z", base_commit, "--"], cwd=workspace, env=run_env)
    files, insertions, deletions = _parse_numstat(numstat)
    return DiffResult(
        base_commit=base_commit,
        patch=patch,
        files_changed=len(files),
        insertions=insertions,
        deletions=deletions,
        files=tuple(files),
        outside_allowed=tuple(f for f in files if not is_allowed(f, allowed_paths)),
    )


def is_allowed(path: str, allowed_paths: Sequence[str]) -> bool:
    """Whether ``path`` lies under one of the prefixes (component-wise); empty = all."""
    prefixes = [p.strip("/") for p in allowed_paths]
    if not prefixes or any(p in ("", ".") for p in prefixes):
        return True
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def _parse_numstat(output: str) -> tuple[list[str], int, int]:
    # With -z and no renames each record is "added\tdeleted\tpath\0"; binary files
    # report "-" for both counts.
    files: list[str] = []
    insertions = deletions = 0
    for record in output.split("\0"):
        if not record:
            continue
        added, deleted, path = record.split("\t", 2)
        files.append(path)
        insertions += int(added) if added.isdigit() else 0
        deletions += int(deleted) if deleted.isdigit() else 0
    return files, insertions, deletions
