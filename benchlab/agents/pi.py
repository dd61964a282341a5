"""The ``pi`` coding agent (npm ``@mariozechner/pi-coding-agent``), run in JSON print mode.

Per trial, everything pi reads or writes lives in ``trial_dir/pi``: its agent dir
(``models.json`` with one ``openai-completions`` provider pointing at the gateway,
``settings.json`` with auto-compaction and retries off), HOME and XDG dirs, the
session file and the raw event stream. The prompt goes in on stdin, so that it is
never taken for an option or an ``@file`` argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from benchlab.agents.base import AgentEndpoint
from benchlab.agents.npm import npm_install
from benchlab.agents.pi_config import PROVIDER, pi_env, write_agent_dir
from benchlab.agents.pi_events import parse_events
from benchlab.agents.runner import run_streaming
from benchlab.errors import AgentError
from benchlab.results import AgentRun
from benchlab.sandbox.base import SandboxSession
from benchlab.sandbox.local import LocalSession
from benchlab.settings import inherited_env

PACKAGE = "@mariozechner/pi-coding-agent"
DEFAULT_VERSION = "0.73.1"
NO_DISCOVERY = ["--no-extensions", "--no-skills", "--no-prompt-templates", "--no-themes"]
"""Only pi's built-in tools, whatever the repository or agent dir holds."""


class PiHarness:
    """Installs and runs pi at a pinned version.

    ``install`` raises :class:`AgentError`; ``run`` reports every failure (not
    installed, cannot start, model error, non-zero exit) in ``AgentRun.error``.
    """

    name = "pi"

    def __init__(
        self,
        version: str = DEFAULT_VERSION,
        *,
        root: Path | None = None,
        host_env: Mapping[str, str] | None = None,
        npm: str = "npm",
        grace_s: float = 5.0,
    ) -> None:
        """Create the harness.

        Args:
            version: The exact npm version of pi.
            root: benchlab's data dir, if pi is already installed there.
            host_env: Host variables for npm and pi (PATH, TLS, proxies); by default
                :func:`benchlab.settings.inherited_env`.
            npm: The npm executable.
            grace_s: Time between SIGTERM and SIGKILL when stopping pi.
        """
        self.version = version
        self.root = root
        self.host_env = dict(host_env) if host_env is not None else None
        self.npm = npm
        self.grace_s = grace_s

    def prefix(self, root: Path) -> Path:
        """Where this version is installed under ``root``."""
        return root / "agents" / "pi" / self.version

    def executable(self, root: Path) -> Path:
        """pi's launcher script under ``root``."""
        return self.prefix(root) / "node_modules" / ".bin" / "pi"

    def install(self, root: Path) -> None:
        """``npm install`` pi into ``root/agents/pi/<version>``, once.

        Raises:
            AgentError: npm is missing or the install failed.
        """
        root = root.resolve()
        npm_home = root / "agents" / ".npm"
        env = dict(inherited_env(network=True) if self.host_env is None else self.host_env)
        # npm's cache and logs go to the data dir, not the user's home.
        env.update(
            HOME=str(npm_home),
            npm_config_cache=str(npm_home / "cache"),
            npm_config_update_notifier="false",
        )
        npm_install(PACKAGE, self.version, self.prefix(root), env=env, npm=self.npm)
        if not self.executable(root).exists():
            raise AgentError(f"{PACKAGE}@{self.version} installed but has no 'pi' executable")
        self.root = root

    def install_paths(self) -> tuple[Path, ...]:
        """pi's install prefix, once installed."""
        return (self.prefix(self.root),) if self.root is not None else ()

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
        """Run pi once on ``workspace`` against ``endpoint`` (see :class:`Harness`)."""
        base = trial_dir.resolve() / "pi"
        if self.root is None or not self.executable(self.root).exists():
            return self._failed(f"pi {self.version} is not installed; call install() first")
        argv = [
            str(self.executable(self.root)),
            "--mode",
            "json",
            "--print",
            "--provider",
            PROVIDER,
            "--model",
            endpoint.model,
            "--session-dir",
            str(base / "sessions"),
            *NO_DISCOVERY,
        ]
        if system_prompt:
            argv += ["--append-system-prompt", system_prompt]
        write_agent_dir(base / "agent", endpoint)
        events_path = base / "events.jsonl"
        command = (sandbox or LocalSession()).wrap(
            argv, cwd=workspace, env=pi_env(base, self.host_env)
        )
        try:
            proc = run_streaming(
                command.argv,
                cwd=command.cwd,
                env=command.env,
                stdin_text=prompt,
                stdout_path=events_path,
                stderr_path=base / "stderr.log",
                timeout_s=timeout_s,
                grace_s=self.grace_s,
            )
        except OSError as exc:
            return self._failed(f"cannot start pi: {exc}")
        transcript = parse_events(proc.lines)
        session = sorted((base / "sessions").glob("*.jsonl"))
        error = transcript.model_error and f"pi stopped on a model error: {transcript.model_error}"
        if proc.exit_code not in (0, None):
            error = f"pi exited with code {proc.exit_code}: {proc.stderr_tail or error}"
        elif transcript.events == 0 and not proc.timed_out:
            error = f"pi produced no events: {proc.stderr_tail}"
        return AgentRun(
            harness=self.name,
            version=self.version,
            exit_code=proc.exit_code,
            final_answer=transcript.final_answer,
            steps=tuple(transcript.steps),
            stopped_by="timeout" if proc.timed_out else None,
            duration_s=proc.duration_s,
            error=None if proc.timed_out else error,
            transcript_path=str(session[-1] if session else events_path),
        )

    def _failed(self, error: str) -> AgentRun:
        return AgentRun(harness=self.name, version=self.version, exit_code=None, error=error)
