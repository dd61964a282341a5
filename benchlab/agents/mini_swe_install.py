"""Install pinned Python requirements into their own virtualenv with uv, once."""

from __future__ import annotations

import fcntl
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from benchlab.errors import AgentError

REQUIREMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[0-9A-Za-z][0-9A-Za-z.+!-]*$")
"""``name==version`` only: an install is reproducible, and nothing reads as an option."""
MARKER = ".benchlab-installed"
"""Written last, so a half-finished install is never taken for a complete one."""


def uv_install(
    requirements: Sequence[str],
    prefix: Path,
    *,
    python: str,
    env: Mapping[str, str],
    uv: str = "uv",
    timeout_s: float = 900.0,
) -> Path:
    """``uv venv PREFIX`` and ``uv pip install`` the pinned requirements, unless done.

    A file lock next to the prefix makes concurrent installers wait for each other;
    an unfinished install is redone from a fresh virtualenv.

    Args:
        requirements: ``name==version`` pins.
        prefix: The virtualenv's directory.
        python: The interpreter the virtualenv is made from.
        env: The complete environment of uv.
        uv: The uv executable.
        timeout_s: Time limit of each uv command.

    Returns:
        The prefix.

    Raises:
        AgentError: a requirement is not an exact pin, uv is missing, failing or too slow.
    """
    bad = [r for r in requirements if not REQUIREMENT.match(r)]
    if bad or not requirements:
        raise AgentError(f"invalid requirements {list(requirements)!r}: give name==version pins")
    spec = " ".join(requirements)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    with (prefix.parent / f".{prefix.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = prefix / MARKER
        if marker.is_file() and marker.read_text() == spec:
            return prefix
        _uv([uv, "venv", "--quiet", "--clear", "--python", python, str(prefix)], env, timeout_s)
        venv_python = str(prefix / "bin" / "python")
        # Compiled now: the agent runs with bytecode writes off, from a read-only mount
        # in a container, and litellm takes long to compile on every start.
        install = [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", venv_python]
        _uv([*install, "--", *requirements], env, timeout_s)
        marker.write_text(spec)
    return prefix


def _uv(argv: list[str], env: Mapping[str, str], timeout_s: float) -> None:
    what = " ".join(argv[1:3])
    try:
        done = subprocess.run(
            argv,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except FileNotFoundError:
        raise AgentError(
            f"cannot run {argv[0]!r}: not found; install uv (https://docs.astral.sh/uv/)"
        ) from None
    except subprocess.TimeoutExpired:
        raise AgentError(f"uv {what} timed out after {timeout_s:g}s") from None
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip()[-2000:]
        raise AgentError(f"uv {what} failed (exit {done.returncode}): {tail}")
