"""Where an agent's tools and a task's checks run: a local process group or a container."""

from benchlab.sandbox.base import Command, Sandbox, SandboxSession
from benchlab.sandbox.local import LocalSandbox

__all__ = ["Command", "LocalSandbox", "Sandbox", "SandboxSession"]
