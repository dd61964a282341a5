"""The contract every coding-agent harness fulfils."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from benchlab.results import AgentRun
from benchlab.sandbox.base import SandboxSession


@dataclass(frozen=True)
class AgentEndpoint:
    """The OpenAI-compatible endpoint an agent talks to: the trial's gateway route."""

    base_url: str
    """Base URL ending in ``/v1``."""

    model: str
    """The model name the agent sends."""

    api_key: str = "benchlab-gateway"
    """A placeholder: the gateway holds any real key, so none reaches the agent."""

    context_window: int = 8192
    """Context window of the model, in tokens."""

    max_output_tokens: int = 4096
    """Most tokens the agent may ask for in one answer."""

    def __post_init__(self) -> None:
        # Agents' config files treat some key values as commands (pi runs "!cmd").
        if self.api_key.startswith(("!", "$")):
            raise ValueError("api_key must be a plain placeholder, not a command or variable")


@runtime_checkable
class Harness(Protocol):
    """A coding agent driven non-interactively on a workspace.

    ``install`` raises :class:`benchlab.errors.AgentError` when it cannot install;
    ``run`` never raises for agent failures: it returns an :class:`AgentRun` with
    ``error`` set, so that the trial is still recorded.
    """

    @property
    def name(self) -> str:
        """Short harness name (``pi``)."""
        ...

    @property
    def version(self) -> str:
        """The pinned version of the agent."""
        ...

    def install(self, root: Path) -> None:
        """Install the agent under ``root`` (benchlab's data dir); idempotent."""
        ...

    def install_paths(self) -> tuple[Path, ...]:
        """Host paths the installed agent runs from (mounted read-only in a container)."""
        ...

    def run(
        self,
        workspace: Path,
        trial_dir: Path,
        endpoint: AgentEndpoint,
        prompt: str,
        system_prompt: str | None,
        timeout_s: float,
        sandbox: SandboxSession | None = None,
    ) -> AgentRun:
        """Run the agent once on ``workspace``; all its files go under ``trial_dir``.

        Its process runs inside ``sandbox`` (on the host when None).
        """
        ...
