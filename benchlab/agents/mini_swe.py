"""The mini-swe-agent coding agent (PyPI ``mini-swe-agent``), run with its ``mini`` CLI.

It is installed at a pinned version into its own virtualenv under benchlab's data dir
(``agents/mini-swe-agent/<version>``). Per trial, everything it reads or writes lives
in ``trial_dir/mini-swe-agent``: its config file, HOME, XDG and global config dirs,
the trajectory it rewrites after every step (the transcript), and its console output.
It runs in yolo mode (no confirmations), exits when the model submits, has no step or
cost limit of its own, and talks to the gateway through litellm's OpenAI client.

Its bash actions run in process sessions of their own (mini-swe-agent starts them
so), out of reach of the agent's process group; they are found by a mark in their
environment and stopped with the agent (see :mod:`benchlab.agents.mini_swe_leftovers`).
The trajectory is saved after each step, so an action cut off by a timeout is missing
from the steps (the gateway's record still has the call that asked for it).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from benchlab.agents.base import AgentEndpoint
from benchlab.agents.mini_swe_config import (
    COMMAND_TIMEOUT_S,
    jinja_literal,
    mini_env,
    stock_config,
    stock_system_template,
    trial_config,
    write_config,
)
from benchlab.agents.mini_swe_install import uv_install
from benchlab.agents.mini_swe_leftovers import MARK_VARIABLE, new_mark, stop_marked
from benchlab.agents.mini_swe_trajectory import read_trajectory
from benchlab.agents.runner import run_streaming
from benchlab.errors import AgentError
from benchlab.results import AgentRun
from benchlab.sandbox.base import SandboxSession
from benchlab.sandbox.local import LocalSession
from benchlab.settings import inherited_env

PACKAGE = "mini-swe-agent"
DEFAULT_VERSION = "2.4.6"
LITELLM_VERSION = "1.100.0"
"""litellm, pinned too: later releases import ``mcp`` (not a dependency) for tool calls."""
SYSTEM_PREFIXES = (Path("/usr"), Path("/usr/local"), Path("/"))
"""Interpreter locations a sandbox image provides itself; never mounted over."""


class MiniSweAgentHarness:
    """Installs and runs mini-swe-agent at a pinned version.

    ``install`` raises :class:`AgentError`; ``run`` reports every failure (not
    installed, cannot start, model error, non-zero exit) in ``AgentRun.error``.
    """

    name = "mini-swe-agent"

    def __init__(
        self,
        version: str = DEFAULT_VERSION,
        *,
        root: Path | None = None,
        host_env: Mapping[str, str] | None = None,
        uv: str = "uv",
        python: str = sys.executable,
        grace_s: float = 5.0,
    ) -> None:
        """Create the harness.

        Args:
            version: The exact PyPI version of mini-swe-agent.
            root: benchlab's data dir, if mini-swe-agent is already installed there.
            host_env: Host variables for uv and the agent (PATH, TLS, proxies); by
                default :func:`benchlab.settings.inherited_env`.
            uv: The uv executable.
            python: The interpreter its virtualenv is made from.
            grace_s: Time between SIGTERM and SIGKILL when stopping the agent.
        """
        self.version = version
        self.root = root
        self.host_env = dict(host_env) if host_env is not None else None
        self.uv = uv
        self.python = python
        self.grace_s = grace_s

    def prefix(self, root: Path) -> Path:
        """The virtualenv of this version under ``root``."""
        return root / "agents" / PACKAGE / self.version

    def executable(self, root: Path) -> Path:
        """The ``mini`` CLI under ``root``."""
        return self.prefix(root) / "bin" / "mini"

    def requirements(self) -> tuple[str, ...]:
        """The exact pins installed."""
        return (f"{PACKAGE}=={self.version}", f"litellm=={LITELLM_VERSION}")

    def install(self, root: Path) -> None:
        """Make the virtualenv ``root/agents/mini-swe-agent/<version>`` and install, once.

        Raises:
            AgentError: uv is missing or the install failed.
        """
        root = root.resolve()
        env = dict(inherited_env(network=True) if self.host_env is None else self.host_env)
        # uv's cache and config lookups stay in the data dir, not the user's home.
        env.update(
            HOME=str(root / "agents" / ".uv-home"), UV_CACHE_DIR=str(root / "agents" / ".uv-cache")
        )
        uv_install(self.requirements(), self.prefix(root), python=self.python, env=env, uv=self.uv)
        if not self.executable(root).exists():
            raise AgentError(f"{PACKAGE}=={self.version} installed but has no 'mini' executable")
        self.root = root

    def install_paths(self) -> tuple[Path, ...]:
        """The virtualenv, and the interpreter installation it links to, once installed."""
        if self.root is None:
            return ()
        prefix = self.prefix(self.root)
        base = _base_prefix(prefix)
        return (prefix,) if base is None or base in SYSTEM_PREFIXES else (prefix, base)

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
        """Run mini-swe-agent once on ``workspace`` against ``endpoint`` (see ``Harness``)."""
        base = trial_dir.resolve() / PACKAGE
        if self.root is None or not self.executable(self.root).exists():
            return self._failed(f"{PACKAGE} {self.version} is not installed; call install() first")
        stock = stock_config(self.prefix(self.root))
        if stock is None:
            return self._failed(f"{PACKAGE} {self.version} is installed without its mini.yaml")
        system = None
        if system_prompt:
            template = stock_system_template(stock)
            system = f"{template.rstrip()}\n\n{jinja_literal(system_prompt)}\n"
        config = trial_config(
            workspace.resolve(),
            endpoint,
            prompt,
            system_template=system,
            command_timeout_s=max(1, min(COMMAND_TIMEOUT_S, int(timeout_s))),
        )
        write_config(base / "benchlab.yaml", config)
        trajectory = base / "trajectory.json"
        argv = [
            str(self.executable(self.root)),
            *("-c", str(stock), "-c", str(base / "benchlab.yaml")),
            *("--yolo", "--exit-immediately", "--cost-limit", "0"),
            *("--output", str(trajectory)),
        ]
        mark = new_mark()
        env = {**mini_env(base, self.host_env), MARK_VARIABLE: mark}
        command = (sandbox or LocalSession()).wrap(argv, cwd=workspace, env=env)
        try:
            proc = run_streaming(
                command.argv,
                cwd=command.cwd,
                env=command.env,
                stdin_text="",
                stdout_path=base / "stdout.log",
                stderr_path=base / "stderr.log",
                timeout_s=timeout_s,
                grace_s=self.grace_s,
            )
        except OSError as exc:
            return self._failed(f"cannot start {PACKAGE}: {exc}")
        finally:
            stop_marked(mark, self.grace_s)
        transcript = read_trajectory(trajectory)
        error = transcript.failure and f"{PACKAGE} stopped on an error: {transcript.failure}"
        if proc.exit_code not in (0, None):
            why = transcript.failure or proc.stderr_tail
            error = f"{PACKAGE} exited with code {proc.exit_code}: {why}"
        elif not trajectory.is_file() and not proc.timed_out:
            error = f"{PACKAGE} wrote no trajectory: {proc.stderr_tail}"
        return AgentRun(
            harness=self.name,
            version=self.version,
            exit_code=proc.exit_code,
            final_answer=transcript.final_answer,
            steps=tuple(transcript.steps),
            stopped_by="timeout" if proc.timed_out else None,
            duration_s=proc.duration_s,
            error=None if proc.timed_out else error,
            transcript_path=str(trajectory if trajectory.is_file() else base / "stdout.log"),
        )

    def _failed(self, error: str) -> AgentRun:
        return AgentRun(harness=self.name, version=self.version, exit_code=None, error=error)


def _base_prefix(venv: Path) -> Path | None:
    """The installation the virtualenv's interpreter belongs to (``home`` in pyvenv.cfg)."""
    try:
        lines = (venv / "pyvenv.cfg").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == "home" and value.strip():
            return Path(value.strip()).resolve().parent
    return None
