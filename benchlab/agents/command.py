"""Any agent CLI, run from a command template (Claude Code, Codex, aider, a script).

The template's ``argv`` elements and ``env`` values may name these variables, each
replaced inside its element and never through a shell: ``{base_url}`` (the gateway
route, ending in ``/v1``), ``{model}``, ``{prompt}``, ``{prompt_file}`` (the prompt,
written to a file), ``{workspace}`` and ``{trial_dir}`` (the command's own directory).
The command also gets ``OPENAI_BASE_URL``, ``OPENAI_API_KEY`` (a placeholder: the
gateway holds any real key), ``BENCHLAB_MODEL`` and ``BENCHLAB_PROMPT_FILE`` (and
``BENCHLAB_SYSTEM_PROMPT_FILE`` when the task has a system prompt), with HOME and XDG
dirs in its trial directory.

Its stdout is kept as the transcript. Steps are reported by a small protocol: each
stdout line that is a JSON object with a string ``tool`` is one step, with
``arguments`` (an object), ``output`` (a string) and ``is_error`` (a boolean), all
optional, stamped when the line arrives. The other lines make the final answer.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchlab.agents.base import AgentEndpoint
from benchlab.agents.home import agent_env
from benchlab.agents.runner import run_streaming
from benchlab.agents.transcript import OUTPUT_LIMIT
from benchlab.config.agents import PLACEHOLDER, CommandAgent
from benchlab.errors import AgentError
from benchlab.results import AgentRun, AgentStep
from benchlab.sandbox.base import SandboxSession
from benchlab.sandbox.local import LocalSession
from benchlab.settings import inherited_env

ANSWER_LIMIT = 20_000


def substitute(text: str, values: Mapping[str, str]) -> str:
    """``text`` with its ``{variable}`` placeholders replaced, in one pass."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


class CommandHarness:
    """Runs a :class:`CommandAgent`; there is nothing to install."""

    def __init__(
        self,
        config: CommandAgent,
        *,
        host_env: Mapping[str, str] | None = None,
        grace_s: float = 5.0,
    ) -> None:
        """Create the harness.

        Args:
            config: The command template.
            host_env: Host variables for the command; by default
                :func:`benchlab.settings.inherited_env`.
            grace_s: Time between SIGTERM and SIGKILL when stopping the command.
        """
        self.config = config
        self.host_env = dict(host_env) if host_env is not None else None
        self.grace_s = grace_s

    @property
    def name(self) -> str:
        """The command agent's name."""
        return self.config.name

    @property
    def version(self) -> str:
        """The version its config states."""
        return self.config.version

    def install(self, root: Path) -> None:
        """Check that the program exists (a templated program is checked when it runs).

        Raises:
            AgentError: the program is not found.
        """
        program = self.config.argv[0]
        if PLACEHOLDER.search(program):
            return
        path = (self.host_env or inherited_env()).get("PATH")
        if shutil.which(program, path=path) is None:
            raise AgentError(f"agent {self.name!r}: program {program!r} not found on PATH")

    def install_paths(self) -> tuple[Path, ...]:
        """The paths its config names."""
        return tuple(Path(p) for p in self.config.paths)

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
        """Run the command once on ``workspace`` against ``endpoint`` (see ``Harness``)."""
        base = trial_dir.resolve() / "command"
        base.mkdir(parents=True, exist_ok=True)
        prompt_file = base / "prompt.txt"
        prompt_file.write_text(prompt)
        values = {
            "base_url": endpoint.base_url,
            "model": endpoint.model,
            "prompt": prompt,
            "prompt_file": str(prompt_file),
            "workspace": str(workspace.resolve()),
            "trial_dir": str(base),
        }
        argv = [substitute(a, values) for a in self.config.argv]
        if self.config.prompt_via == "arg" and not any("{prompt}" in a for a in self.config.argv):
            argv.append(prompt)
        env = self._env(base, endpoint, prompt_file, system_prompt, values)
        command = (sandbox or LocalSession()).wrap(argv, cwd=workspace, env=env)
        try:
            proc = run_streaming(
                command.argv,
                cwd=command.cwd,
                env=command.env,
                stdin_text=prompt if self.config.prompt_via == "stdin" else "",
                stdout_path=base / "stdout.log",
                stderr_path=base / "stderr.log",
                timeout_s=timeout_s,
                grace_s=self.grace_s,
            )
        except OSError as exc:
            return self._failed(f"cannot start agent {self.name!r}: {exc}")
        steps, answer = parse_output(proc.lines)
        error = None
        if proc.exit_code not in (0, None):
            error = f"{self.name} exited with code {proc.exit_code}: {proc.stderr_tail}".strip()
        return AgentRun(
            harness=self.name,
            version=self.version,
            exit_code=proc.exit_code,
            final_answer=answer,
            steps=tuple(steps),
            stopped_by="timeout" if proc.timed_out else None,
            duration_s=proc.duration_s,
            error=error,
            transcript_path=str(base / "stdout.log"),
        )

    def _env(
        self,
        base: Path,
        endpoint: AgentEndpoint,
        prompt_file: Path,
        system_prompt: str | None,
        values: Mapping[str, str],
    ) -> dict[str, str]:
        env = agent_env(base, self.host_env)
        env.update(
            OPENAI_BASE_URL=endpoint.base_url,
            OPENAI_API_KEY=endpoint.api_key,
            BENCHLAB_MODEL=endpoint.model,
            BENCHLAB_PROMPT_FILE=str(prompt_file),
        )
        if system_prompt:
            (base / "system_prompt.txt").write_text(system_prompt)
            env["BENCHLAB_SYSTEM_PROMPT_FILE"] = str(base / "system_prompt.txt")
        env.update({k: substitute(v, values) for k, v in self.config.env.items()})
        return env

    def _failed(self, error: str) -> AgentRun:
        return AgentRun(harness=self.name, version=self.version, exit_code=None, error=error)


def parse_output(lines: list[tuple[int, str]]) -> tuple[list[AgentStep], str]:
    """The steps a command reported on stdout (see the module doc), and the other text."""
    steps: list[AgentStep] = []
    text: list[str] = []
    for stamp, line in lines:
        step = _step(line, stamp)
        if step is None:
            text.append(line.rstrip("\n"))
        else:
            steps.append(step)
    return steps, "\n".join(text).strip()[-ANSWER_LIMIT:]


def _step(line: str, stamp: int) -> AgentStep | None:
    try:
        data: Any = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("tool"), str):
        return None
    arguments, output = data.get("arguments"), data.get("output", "")
    return AgentStep(
        tool=data["tool"],
        arguments=arguments if isinstance(arguments, dict) else {},
        output=(output if isinstance(output, str) else json.dumps(output))[:OUTPUT_LIMIT],
        is_error=data.get("is_error") is True,
        end_ns=stamp,
    )
