"""Harnesses by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchlab.agents import Harness
from benchlab.agents.command import CommandAgent, CommandHarness
from benchlab.agents.mini_swe import MiniSweAgentHarness
from benchlab.agents.opencode import OpencodeHarness
from benchlab.agents.pi import PiHarness
from benchlab.agents.registry import harness_for, known_agents
from benchlab.errors import UsageError
from benchlab.settings import Settings

CLAUDE = CommandAgent(name="claude", argv=("claude", "-p", "{prompt}"), prompt_via="arg")


def test_builtin_and_command_agents_by_name(tmp_path: Path) -> None:
    assert known_agents() == ("pi", "mini-swe-agent", "opencode")
    assert known_agents([CLAUDE])[-1] == "claude"
    expected = {"pi": PiHarness, "mini-swe-agent": MiniSweAgentHarness, "opencode": OpencodeHarness}
    for name, kind in expected.items():
        harness = harness_for(name, tmp_path, commands=[CLAUDE])
        assert isinstance(harness, kind) and isinstance(harness, Harness)
        assert harness.name == name
    command = harness_for("claude", tmp_path, commands=[CLAUDE])
    assert isinstance(command, CommandHarness) and command.version == "unversioned"


def test_settings_give_the_data_dir_and_pi_version(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", pi_version="0.70.0")
    pi = harness_for("pi", settings)
    assert isinstance(pi, PiHarness)
    assert (pi.version, pi.root) == ("0.70.0", (tmp_path / "data").resolve())
    mini = harness_for("mini-swe-agent", settings, version="2.4.5")
    assert mini.version == "2.4.5"


def test_an_uninstalled_harness_ends_in_an_error_run(tmp_path: Path) -> None:
    from benchlab.agents import AgentEndpoint

    endpoint = AgentEndpoint(base_url="http://127.0.0.1:9/v1", model="m")
    for name in known_agents():
        run = harness_for(name, tmp_path).run(tmp_path, tmp_path / name, endpoint, "hi", None, 5)
        assert run.error is not None and "not installed" in run.error, name


def test_unknown_names_list_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown agent 'aider'; valid: claude, mini-swe-agent"):
        harness_for("aider", tmp_path, commands=[CLAUDE])


def test_a_command_cannot_take_a_builtin_name(tmp_path: Path) -> None:
    shadow = CLAUDE.model_copy(update={"name": "pi"})
    with pytest.raises(UsageError, match="'pi' is built in"):
        harness_for("claude", tmp_path, commands=[CLAUDE, shadow])
