"""Making real git repositories for tests, hermetically."""

from __future__ import annotations

from pathlib import Path

from benchlab.gitrepo import git


def make_repo(path: Path, files: dict[str, str]) -> str:
    """A git repo at ``path`` with one commit of ``files``; returns its sha."""
    path.mkdir(parents=True)
    git(["init", "--quiet", "--initial-branch=main"], cwd=path)
    return commit(path, files, "first")


def commit(path: Path, files: dict[str, str], message: str) -> str:
    """Write ``files`` and commit them; returns the new sha."""
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(["add", "--all"], cwd=path)
    git(["commit", "--quiet", "-m", message], cwd=path)
    return head(path)


def head(path: Path) -> str:
    """The sha HEAD points at."""
    return git(["rev-parse", "HEAD"], cwd=path).strip()
