"""Install a pinned npm package into its own prefix, once, safely across processes."""

from __future__ import annotations

import fcntl
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

from benchlab.errors import AgentError

VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+-]*$")
MARKER = ".benchlab-installed"
"""Written last, so a half-finished install is never taken for a complete one."""


def npm_install(
    package: str,
    version: str,
    prefix: Path,
    *,
    env: Mapping[str, str],
    npm: str = "npm",
    timeout_s: float = 600.0,
) -> Path:
    """``npm install --prefix PREFIX PACKAGE@VERSION`` unless already done.

    A file lock next to the prefix makes concurrent installers wait for each other.

    Args:
        package: The npm package name.
        version: An exact version.
        prefix: Install directory (``node_modules`` goes under it).
        env: The complete environment of npm.
        npm: The npm executable.
        timeout_s: Time limit of the install.

    Returns:
        The prefix.

    Raises:
        AgentError: bad version, npm missing, failing or too slow.
    """
    if not VERSION.match(version):
        raise AgentError(f"invalid version {version!r} for {package}")
    spec = f"{package}@{version}"
    prefix.parent.mkdir(parents=True, exist_ok=True)
    with (prefix.parent / f".{prefix.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = prefix / MARKER
        if marker.is_file() and marker.read_text() == spec:
            return prefix
        prefix.mkdir(exist_ok=True)
        argv = [
            npm,
            "install",
            "--prefix",
            str(prefix),
            "--no-audit",
            "--no-fund",
            "--save-exact",
            "--loglevel=error",
            "--",
            spec,
        ]
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
                f"cannot install {spec}: {npm!r} not found; install Node.js (>= 20) and npm"
            ) from None
        except subprocess.TimeoutExpired:
            raise AgentError(f"npm install {spec} timed out after {timeout_s:g}s") from None
        if done.returncode != 0:
            tail = done.stderr.decode(errors="replace").strip()[-2000:]
            raise AgentError(f"npm install {spec} failed (exit {done.returncode}): {tail}")
        marker.write_text(spec)
    return prefix
