"""Git, run hermetically: no user or system config, a fixed identity, fixed dates."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from benchlab.errors import BenchlabError
from benchlab.settings import inherited_env

IDENTITY_NAME = "benchlab"
IDENTITY_EMAIL = "benchlab@localhost"
FIXED_DATE = "2000-01-01T00:00:00+0000"
"""Author and committer date of commits benchlab makes, so their shas are stable."""
ALLOWED_PROTOCOLS = "file:git:http:https:ssh"
"""The git transports benchlab lets a clone use (``GIT_ALLOW_PROTOCOL``)."""


class GitError(BenchlabError):
    """A git command failed."""


def git_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for git: host PATH/TLS/proxy only, no config files, fixed identity.

    Args:
        base: Variables to start from; by default :func:`inherited_env` with network
            settings, so that clones can go through a proxy.

    Returns:
        A new dict.
    """
    env = dict(inherited_env(network=True) if base is None else base)
    env.update(
        GIT_CONFIG_GLOBAL="/dev/null",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        # Only transports that move data: ``ext::`` and its kind run commands.
        GIT_ALLOW_PROTOCOL=ALLOWED_PROTOCOLS,
        GIT_AUTHOR_NAME=IDENTITY_NAME,
        GIT_AUTHOR_EMAIL=IDENTITY_EMAIL,
        GIT_AUTHOR_DATE=FIXED_DATE,
        GIT_COMMITTER_NAME=IDENTITY_NAME,
        GIT_COMMITTER_EMAIL=IDENTITY_EMAIL,
        GIT_COMMITTER_DATE=FIXED_DATE,
        LC_ALL="C",
    )
    return env


def git(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 600.0,
) -> str:
    """Run ``git args`` in ``cwd`` and return its stdout.

    Raises:
        GitError: git failed, timed out or is not installed; the message has its stderr.
    """
    argv = ["git", "-c", "core.quotePath=false", *args]
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            env=dict(env) if env is not None else git_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} timed out after {timeout_s:g}s") from None
    if done.returncode != 0:
        stderr = done.stderr.decode(errors="replace").strip()
        raise GitError(f"git {' '.join(args[:2])} failed in {cwd}: {stderr[-2000:]}")
    return done.stdout.decode(errors="replace")


def is_git_repo(path: Path) -> bool:
    """Whether ``path`` is itself the top of a git repository (work tree or bare).

    A plain directory inside some other repository does not count.
    """
    return (path / ".git").exists() or ((path / "HEAD").is_file() and (path / "objects").is_dir())


def resolve_commit(repo: Path, ref: str, env: Mapping[str, str]) -> str:
    """The commit sha ``ref`` names in ``repo``, trying ``origin/<ref>`` as well.

    Raises:
        GitError: the ref starts with '-' or names no commit.
    """
    if ref.startswith("-"):
        raise GitError(f"refusing ref {ref!r}: it starts with '-'")
    for candidate in (ref, f"origin/{ref}"):
        try:
            out = git(
                ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{candidate}^{{commit}}"],
                cwd=repo,
                env=env,
            )
        except GitError:
            continue
        return out.strip()
    raise GitError(f"ref {ref!r} names no commit in the repository")
