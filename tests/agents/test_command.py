"""The command harness: a real script through the real gateway and llama-server."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from benchlab.agents import AgentEndpoint, Harness
from benchlab.agents.command import CommandAgent, CommandHarness, parse_output
from benchlab.config import find_task
from benchlab.engine import LlamaServer
from benchlab.errors import AgentError
from benchlab.gateway import Gateway
from benchlab.results import TrialStatus
from benchlab.trial import TrialSpec, run_trial
from tests.fixtures.llama import MODEL_ALIAS

TASKS = Path(__file__).resolve().parents[2] / "tasks"
SCRIPT = Path(__file__).resolve().parent / "data" / "edit_and_ask.py"
ECHO = "it's $HOME; `no shell` {not a placeholder} *"


def script_agent(**update: object) -> CommandAgent:
    config = CommandAgent(
        name="script-agent",
        argv=(sys.executable, str(SCRIPT), "--workspace", "{workspace}", "--echo", ECHO),
        version="1.0",
    )
    return config.model_copy(update=update)


def test_trial_through_the_gateway_records_calls_steps_and_diff(
    llama_server: LlamaServer, gateway: Gateway, tmp_path: Path
) -> None:
    harness = CommandHarness(script_agent())
    assert isinstance(harness, Harness)
    harness.install(tmp_path)
    task = find_task(TASKS, "sample")
    spec = TrialSpec(
        task=task,
        task_dir=TASKS,
        model="gemma",
        upstream_base_url=llama_server.openai_base_url,
        model_alias=MODEL_ALIAS,
        context_window=8192,
    )
    result = run_trial(spec, gateway=gateway, harness=harness, trials_dir=tmp_path)
    agent = result.agent
    assert agent is not None and agent.error is None, result.reason
    assert (agent.harness, agent.version, agent.exit_code) == ("script-agent", "1.0", 0)
    assert result.params["agent.harness"] == "script-agent"
    # Only its edit happened: the divide check fails, the existing tests still pass.
    assert result.status is TrialStatus.failed and result.reason == "checks failed: divide works"

    assert len(result.calls) == 2
    assert len(agent.steps) == 2
    assert [s.arguments for s in agent.steps] == [{"index": 0}, {"index": 1}]
    usages = [json.loads(s.output) for s in agent.steps]
    assert result.input_tokens == sum(u["prompt_tokens"] for u in usages) > 0
    assert result.output_tokens == sum(u["completion_tokens"] for u in usages) > 0
    assert result.input_tokens == sum(c.usage.prompt_tokens for c in result.calls)

    assert result.diff is not None and set(result.diff.files) == {"NOTES.md", "calc.py"}
    assert "+notes from the command agent" in result.diff.patch
    # Arguments reach the program as given, never through a shell.
    assert agent.final_answer == f"done: {ECHO}"
    assert agent.transcript_path is not None
    transcript = Path(agent.transcript_path).read_text()
    assert transcript.count('"tool": "chat"') == 2
    prompt_file = tmp_path / result.trial_id / "agent" / "command" / "prompt.txt"
    assert prompt_file.read_text() == task.rendered_prompt()


def test_placeholders_and_prompt_via(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    printer = "import json, os, sys; print(json.dumps([sys.argv[1:], sys.stdin.read()]))"
    config = CommandAgent(
        name="printer",
        argv=(sys.executable, "-c", printer, "--url={base_url}", "{model}", "{prompt_file}"),
        env={"EXTRA": "{trial_dir}"},
        prompt_via="arg",
    )
    endpoint = AgentEndpoint(base_url="http://127.0.0.1:9/t/x/v1", model="m {x}")
    run = CommandHarness(config).run(workspace, tmp_path / "t", endpoint, "-p {model}", None, 30)
    args, stdin = json.loads(run.final_answer)
    prompt_file = str((tmp_path / "t" / "command" / "prompt.txt").resolve())
    assert args == ["--url=http://127.0.0.1:9/t/x/v1", "m {x}", prompt_file, "-p {model}"]
    assert stdin == ""
    stdin_config = config.model_copy(update={"prompt_via": "stdin"})
    run = CommandHarness(stdin_config).run(workspace, tmp_path / "u", endpoint, "hi", None, 30)
    assert json.loads(run.final_answer)[1] == "hi"


def test_unknown_placeholders_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"unknown placeholder \{base_ur\}"):
        CommandAgent(name="x", argv=("agent", "--url", "{base_ur}"))
    # JSON and other braces are not placeholders.
    CommandAgent(name="x", argv=("agent", '{"a": 1}', "{}"))


def test_missing_program_fails_install_and_run(tmp_path: Path) -> None:
    harness = CommandHarness(CommandAgent(name="gone", argv=(str(tmp_path / "no-such-agent"),)))
    with pytest.raises(AgentError, match="not found on PATH"):
        harness.install(tmp_path)
    endpoint = AgentEndpoint(base_url="http://127.0.0.1:9/v1", model="m")
    run = harness.run(tmp_path, tmp_path / "t", endpoint, "hi", None, 5)
    assert run.error is not None and "cannot start agent 'gone'" in run.error
    assert run.exit_code is None


def test_failing_command_is_an_error(tmp_path: Path) -> None:
    config = CommandAgent(name="fails", argv=("bash", "-c", "echo broken >&2; exit 4"))
    endpoint = AgentEndpoint(base_url="http://127.0.0.1:9/v1", model="m")
    run = CommandHarness(config).run(tmp_path, tmp_path / "t", endpoint, "hi", None, 30)
    assert (run.exit_code, run.error) == (4, "fails exited with code 4: broken")


def test_step_lines_protocol() -> None:
    lines = [
        (1, '{"tool": "bash", "arguments": {"command": "ls"}, "output": "a", "is_error": true}\n'),
        (2, "thinking...\n"),
        (3, '{"not_a_step": 1}\n'),
        (4, '{"tool": "read", "output": {"lines": 3}}\n'),
        (5, '{"tool": "cut'),
    ]
    steps, answer = parse_output(lines)
    assert [(s.tool, s.arguments, s.output, s.is_error, s.end_ns) for s in steps] == [
        ("bash", {"command": "ls"}, "a", True, 1),
        ("read", {}, '{"lines": 3}', False, 4),
    ]
    assert answer == 'thinking...\n{"not_a_step": 1}\n{"tool": "cut'
