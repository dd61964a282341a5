"""The opencode coding agent (npm ``opencode-ai``), run with ``opencode run --format json``.

npm brings opencode's self-contained native binary for the platform through the
package's optional dependencies; it runs offline. Per trial, everything opencode
reads or writes lives in ``trial_dir/opencode``: its ``opencode.json`` (one
OpenAI-compatible provider at the gateway route, autoupdate and sharing off, every
permission answered up front), HOME and XDG dirs (its session database among them),
the raw event stream, and the session exported as JSON (the transcript). The prompt
goes in on stdin, so that it is never taken for an option.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from benchlab.agents.base import AgentEndpoint
from benchlab.agents.mini_swe_leftovers import MARK_VARIABLE, new_mark, stop_marked
from benchlab.agents.npm import npm_install
from benchlab.agents.opencode_config import PROVIDER, opencode_env, write_config
from benchlab.agents.opencode_events import parse_events
from benchlab.agents.runner import run_streaming
from benchlab.errors import AgentError
from benchlab.results import AgentRun
from benchlab.sandbox.base import Command, SandboxSession
from benchlab.sandbox.local import LocalSession
from benchlab.settings import inherited_env

PACKAGE = "opencode-ai"
DEFAULT_VERSION = "1.18.33"
TITLE = "benchlab trial"
"""A fixed session title: otherwise opencode asks the model for one, an extra call."""
EXPORT_TIMEOUT_S = 60.0
SESSION_ID = re.compile(r"^ses_[A-Za-z0-9]+$")


class OpencodeHarness:
    """Installs and runs opencode at a pinned version.

    ``install`` raises :class:`AgentError`; ``run`` reports every failure (not
    installed, cannot start, model error, non-zero exit) in ``AgentRun.error``.
    """

    name = "opencode"

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
            version: The exact npm version of opencode-ai.
            root: benchlab's data dir, if opencode is already installed there.
            host_env: Host variables for npm and opencode (PATH, TLS, proxies); by
                default :func:`benchlab.settings.inherited_env`.
            npm: The npm executable.
            grace_s: Time between SIGTERM and SIGKILL when stopping opencode.
        """
        self.version = version
        self.root = root
        self.host_env = dict(host_env) if host_env is not None else None
        self.npm = npm
        self.grace_s = grace_s

    def prefix(self, root: Path) -> Path:
        """Where this version is installed under ``root``."""
        return root / "agents" / "opencode" / self.version

    def executable(self, root: Path) -> Path:
        """opencode's launcher under ``root``."""
        return self.prefix(root) / "node_modules" / ".bin" / "opencode"

    def install(self, root: Path) -> None:
        """``npm install`` opencode-ai into ``root/agents/opencode/<version>``, once.

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
            raise AgentError(f"{PACKAGE}@{self.version} installed but has no 'opencode' executable")
        self.root = root

    def install_paths(self) -> tuple[Path, ...]:
        """opencode's install prefix, once installed."""
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
        """Run opencode once on ``workspace`` against ``endpoint`` (see ``Harness``)."""
        base = trial_dir.resolve() / "opencode"
        if self.root is None or not self.executable(self.root).exists():
            return self._failed(f"opencode {self.version} is not installed; call install() first")
        instructions = None
        if system_prompt:
            instructions = base / "instructions.md"
            base.mkdir(parents=True, exist_ok=True)
            instructions.write_text(system_prompt)
        write_config(base / "opencode.json", endpoint, instructions)
        # Its shell commands run detached from its process group: a mark finds them.
        mark = new_mark()
        env = {**opencode_env(base, base / "opencode.json", self.host_env), MARK_VARIABLE: mark}
        opencode = str(self.executable(self.root))
        argv = [opencode, "run", "--format", "json", "--pure", "--title", TITLE]
        argv += ["--model", f"{PROVIDER}/{endpoint.model}"]
        session = sandbox or LocalSession()
        command = session.wrap(argv, cwd=workspace, env=env)
        try:
            proc = run_streaming(
                command.argv,
                cwd=command.cwd,
                env=command.env,
                stdin_text=prompt,
                stdout_path=base / "events.jsonl",
                stderr_path=base / "stderr.log",
                timeout_s=timeout_s,
                grace_s=self.grace_s,
            )
        except OSError as exc:
            return self._failed(f"cannot start opencode: {exc}")
        finally:
            stop_marked(mark, self.grace_s)
        transcript = parse_events(proc.lines)
        exported = None
        if transcript.session_id and SESSION_ID.match(transcript.session_id):
            export = [opencode, "export", "--pure", transcript.session_id]
            exported = self._export(session.wrap(export, cwd=workspace, env=env), base)
        error = (
            transcript.model_error
            and f"opencode stopped on a model error: {transcript.model_error}"
        )
        if proc.exit_code not in (0, None):
            error = f"opencode exited with code {proc.exit_code}: {error or proc.stderr_tail}"
        elif transcript.events == 0 and not proc.timed_out:
            error = f"opencode produced no events: {proc.stderr_tail}"
        return AgentRun(
            harness=self.name,
            version=self.version,
            exit_code=proc.exit_code,
            final_answer=transcript.final_answer,
            steps=tuple(transcript.steps),
            stopped_by="timeout" if proc.timed_out else None,
            duration_s=proc.duration_s,
            error=None if proc.timed_out else error,
            transcript_path=str(exported or base / "events.jsonl"),
        )

    def _export(self, command: Command, base: Path) -> Path | None:
        """The session exported as JSON, or None when opencode could not export it."""
        path = base / "session.json"
        try:
            done = run_streaming(
                command.argv,
                cwd=command.cwd,
                env=command.env,
                stdin_text="",
                stdout_path=path,
                stderr_path=base / "export.log",
                timeout_s=EXPORT_TIMEOUT_S,
                grace_s=self.grace_s,
            )
        except OSError:
            return None
        return path if done.exit_code == 0 and path.stat().st_size > 0 else None

    def _failed(self, error: str) -> AgentRun:
        return AgentRun(harness=self.name, version=self.version, exit_code=None, error=error)
