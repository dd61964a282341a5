"""Run a shell command in its own process group, with a timeout and a kept output tail."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from benchlab.sandbox.base import SandboxSession
from benchlab.services.process import ManagedProcess

TAIL_BYTES = 20_000
"""How much of a command's output is kept by default."""


@dataclass(frozen=True)
class ShellResult:
    """How a shell command ended."""

    exit_code: int | None
    """Exit code (negative: killed by that signal); None if stopped at the timeout."""

    output: str
    """The tail of combined stdout and stderr."""

    duration_s: float
    """Wall time."""

    timed_out: bool = False
    """Whether the command was stopped at its timeout."""


def run_shell(
    command: str,
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout_s: float,
    log_path: Path | None = None,
    tail_bytes: int = TAIL_BYTES,
    grace_s: float = 5.0,
    sandbox: SandboxSession | None = None,
) -> ShellResult:
    """Run ``bash -c command`` in a new process group and wait for it.

    The whole group is stopped afterwards on every path, so background processes a
    command leaves behind do not outlive it.

    Args:
        command: The shell command.
        cwd: Working directory.
        env: The complete environment of the command.
        timeout_s: Wall time after which the group is killed.
        log_path: Where the full output goes; a temporary file if None.
        tail_bytes: How many bytes of output to keep in the result.
        grace_s: Time between SIGTERM and SIGKILL when stopping the group.
        sandbox: Where the command runs; on the host when None.

    Returns:
        The exit code, output tail, duration and whether it timed out.
    """
    with tempfile.TemporaryDirectory(prefix="benchlab-sh-") as tmp:
        log = log_path or Path(tmp) / "output.log"
        argv: tuple[str, ...] = ("bash", "-c", command)
        if sandbox is not None:
            wrapped = sandbox.wrap(argv, cwd=cwd, env=env)
            argv, cwd, env = wrapped.argv, wrapped.cwd, wrapped.env
        process = ManagedProcess(list(argv), log_path=log, env=env, cwd=cwd, grace_s=grace_s)
        start = time.monotonic()
        timed_out = False
        with process:
            assert process.proc is not None
            try:
                process.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
        duration = time.monotonic() - start
        exit_code = None if timed_out else process.returncode()
        return ShellResult(exit_code, read_tail(log, tail_bytes), duration, timed_out)


def read_tail(path: Path, limit: int) -> str:
    """The last ``limit`` bytes of a file as text; empty if it cannot be read."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            data = handle.read()
    except OSError:
        return ""
    text = data.decode(errors="replace")
    return text if size <= limit else f"[... {size - limit} bytes cut ...]\n{text}"
