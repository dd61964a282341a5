"""Child processes in their own process group, always stopped and reaped."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

import httpx

from benchlab.errors import ServiceError


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def last_lines(text: str, count: int) -> list[str]:
    """The last ``count`` non-empty lines of ``text``, for error messages: a process that
    dies often ends its output with blank lines, and those say nothing."""
    return [line.rstrip() for line in text.splitlines() if line.strip()][-count:]


class ManagedProcess:
    """A process started in a new session so that its whole group can be stopped.

    Output goes to ``log_path``. Use as a context manager: leaving the block stops
    the group (SIGTERM, then SIGKILL after ``grace_s``) on every exit path.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        grace_s: float = 10.0,
    ) -> None:
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.grace_s = grace_s
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ManagedProcess:
        """Start the process; its output is appended to the log file."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        except OSError as exc:
            raise ServiceError(f"cannot start {self.argv[0]}: {exc}") from None
        finally:
            log.close()
        return self

    @property
    def pid(self) -> int:
        """The process id (also the process group id)."""
        if self.proc is None:
            raise ServiceError("process not started")
        return self.proc.pid

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.proc is not None and self.proc.poll() is None

    def returncode(self) -> int | None:
        """The exit code, or None while running."""
        return None if self.proc is None else self.proc.poll()

    def log_lines(self, lines: int = 20) -> list[str]:
        """The last non-empty lines of the log (see :func:`last_lines`)."""
        try:
            with self.log_path.open("rb") as handle:
                # Only the end matters; a long-running server's log can be large.
                handle.seek(0, os.SEEK_END)
                handle.seek(max(0, handle.tell() - 64 * 1024))
                text = handle.read().decode(errors="replace")
        except OSError:
            return []
        return last_lines(text, lines)

    def log_tail(self, lines: int = 20) -> str:
        """The last non-empty lines of the log as one text, for error messages."""
        return "\n".join(self.log_lines(lines))

    def stop(self) -> None:
        """Stop the whole process group and reap the process; safe to call twice."""
        if self.proc is None:
            return
        pgid = self.proc.pid
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=self.grace_s)
        # Children may outlive the leader; the group is killed regardless.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=self.grace_s)

    def __enter__(self) -> ManagedProcess:
        if self.proc is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def wait_until(
    ready: Callable[[], bool],
    *,
    timeout_s: float,
    what: str,
    process: ManagedProcess | None = None,
    interval_s: float = 0.1,
) -> float:
    """Poll ``ready`` until it is true; fail fast if ``process`` dies.

    Returns:
        Seconds waited.
    """
    start = time.monotonic()
    while True:
        if ready():
            return time.monotonic() - start
        if process is not None and not process.alive():
            raise ServiceError(
                f"{what} exited with code {process.returncode()} before it was ready; "
                f"last log lines:\n{process.log_tail()}"
            )
        if time.monotonic() - start > timeout_s:
            raise ServiceError(f"{what} not ready after {timeout_s:.0f}s")
        time.sleep(interval_s)


def http_ok(url: str, timeout_s: float = 2.0) -> bool:
    """Whether ``url`` answers a GET with a 2xx status."""
    try:
        return httpx.get(url, timeout=timeout_s).is_success
    except httpx.HTTPError:
        return False
