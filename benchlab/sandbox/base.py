"""The contract of a sandbox: it turns a command into one that runs inside it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Command:
    """A command ready to start on the host: what to exec, where, with which environment."""

    argv: tuple[str, ...]
    """Program and arguments as the host starts them."""

    cwd: Path
    """Working directory on the host."""

    env: Mapping[str, str] = field(default_factory=dict)
    """The complete environment of the host process."""


@runtime_checkable
class SandboxSession(Protocol):
    """One trial's sandbox, open: commands wrapped by it run inside it."""

    def wrap(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> Command:
        """The host command that runs ``argv`` in ``cwd`` with ``env`` inside the sandbox.

        Paths keep their host names inside the sandbox, so configuration files that
        name them stay valid.
        """
        ...


@runtime_checkable
class Sandbox(Protocol):
    """A kind of sandbox (``local``, ``docker``)."""

    @property
    def name(self) -> str:
        """Short name, as given to ``--sandbox``."""
        ...

    @property
    def isolation(self) -> str:
        """In plain words, what this sandbox does and does not contain."""
        ...

    def session(
        self,
        trial_dir: Path,
        workspace: Path,
        *,
        readonly: Sequence[Path] = (),
    ) -> AbstractContextManager[SandboxSession]:
        """Open the trial's sandbox; closing it stops everything that still runs in it.

        Args:
            trial_dir: The trial's own directory (agent config, transcripts); writable.
            workspace: The repository the agent works on; writable.
            readonly: Host paths the commands need to read (the agent's install).
        """
        ...
