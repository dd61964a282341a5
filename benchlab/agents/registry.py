"""Harnesses by name: the built-in agents and the command agents a config defines.

A harness that cannot be installed raises :class:`benchlab.errors.AgentError` from
``install``, and one that cannot start returns an ``AgentRun`` with ``error`` set:
either way the trial ends as ``error`` with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from benchlab.agents import mini_swe, opencode, pi
from benchlab.agents.base import Harness
from benchlab.agents.command import CommandAgent, CommandHarness
from benchlab.errors import UsageError, unknown_name
from benchlab.settings import Settings

BUILTIN: dict[str, Callable[[Path, str | None], Harness]] = {
    "pi": lambda root, version: pi.PiHarness(version or pi.DEFAULT_VERSION, root=root),
    "mini-swe-agent": lambda root, version: mini_swe.MiniSweAgentHarness(
        version or mini_swe.DEFAULT_VERSION, root=root
    ),
    "opencode": lambda root, version: opencode.OpencodeHarness(
        version or opencode.DEFAULT_VERSION, root=root
    ),
}
"""Each built-in harness, made from the data dir and a version (None: its pinned one)."""


def known_agents(commands: Iterable[CommandAgent] = ()) -> tuple[str, ...]:
    """The names ``harness_for`` accepts: the built-in agents, then the command agents."""
    return (*BUILTIN, *(c.name for c in commands))


def harness_for(
    name: str,
    settings_or_root: Settings | Path,
    *,
    commands: Iterable[CommandAgent] = (),
    version: str | None = None,
) -> Harness:
    """The harness called ``name``, set to run from benchlab's data dir.

    It is not installed here: call its ``install(root)`` (it is quick when done before).

    Args:
        name: ``pi``, ``mini-swe-agent``, ``opencode``, or a command agent's name.
        settings_or_root: benchlab's settings (their data dir and pinned pi version),
            or the data dir itself.
        commands: Command agents defined in the configuration.
        version: Another version of a built-in agent than its pinned one.

    Raises:
        UsageError: the name is unknown (the message lists the valid ones), or a
            command agent takes a built-in agent's name.
    """
    defined = {c.name: c for c in commands}
    clash = sorted(set(defined) & set(BUILTIN))
    if clash:
        raise UsageError(f"agent name {clash[0]!r} is built in; give the command another name")
    if isinstance(settings_or_root, Settings):
        root = settings_or_root.state_dir
        if version is None:
            version = {
                "pi": settings_or_root.pi_version,
                "mini-swe-agent": settings_or_root.mini_swe_agent_version,
                "opencode": settings_or_root.opencode_version,
            }.get(name)
    else:
        root = settings_or_root.resolve()
    if name in BUILTIN:
        return BUILTIN[name](root, version)
    if name in defined:
        return CommandHarness(defined[name])
    raise unknown_name("agent", name, known_agents(defined.values()))
