"""Coding-agent harnesses: install a CLI agent and drive it non-interactively."""

from benchlab.agents.base import AgentEndpoint, Harness
from benchlab.agents.pi import PiHarness

__all__ = ["AgentEndpoint", "Harness", "PiHarness"]
