"""The real pi CLI, driven through a scripted OpenAI-compatible endpoint."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from benchlab.agents import AgentEndpoint, Harness, PiHarness
from benchlab.agents.pi_events import parse_events
from benchlab.config import load_task
from benchlab.errors import AgentError
from benchlab.workspace import prepare_workspace
from tests.agents.openai_double import Reply, ScriptedOpenAI
from tests.fixtures.agents import CACHE_ROOT
from tests.fixtures.llama import MODEL_ALIAS
from tests.helpers_proc import marker, wait_gone

MODEL = "scripted-model"
TASKS = Path(__file__).resolve().parents[2] / "tasks"


def endpoint(base_url: str) -> AgentEndpoint:
    return AgentEndpoint(base_url=base_url, model=MODEL, context_window=4096, max_output_tokens=512)


def test_pi_is_a_harness(pi: PiHarness) -> None:
    assert isinstance(pi, Harness)
    assert (pi.name, pi.version) == ("pi", "0.73.1")


def test_run_edits_workspace_and_is_parsed(pi: PiHarness, tmp_path: Path) -> None:
    workspace, trial = tmp_path / "ws", tmp_path / "trial"
    workspace.mkdir()
    script = [
        Reply(tool="write", arguments={"path": "hello.txt", "content": "hello\n"}),
        Reply(tool="bash", arguments={"command": "cat hello.txt; exit 3"}),
        Reply(text="I wrote hello.txt."),
    ]
    with ScriptedOpenAI(script, model=MODEL) as api:
        run = pi.run(
            workspace,
            trial,
            endpoint(api.base_url),
            "-@create hello.txt",
            "Be brief.",
            timeout_s=60,
        )
    assert run.error is None, run.error
    assert (run.exit_code, run.stopped_by) == (0, None)
    assert (workspace / "hello.txt").read_text() == "hello\n"
    assert [s.tool for s in run.steps] == ["write", "bash"]
    write, bash = run.steps
    assert write.arguments == {"path": "hello.txt", "content": "hello\n"}
    assert not write.is_error
    assert bash.is_error and "hello" in bash.output and "code 3" in bash.output
    for step in run.steps:
        assert step.start_ns is not None and step.end_ns is not None
        assert step.start_ns <= step.end_ns
    assert run.final_answer == "I wrote hello.txt."
    assert run.duration_s > 0

    # What reached the endpoint: our model, our limits, the prompt verbatim via stdin.
    first = api.requests[0]
    assert first["model"] == MODEL and first["stream"] is True
    assert first["max_tokens"] == 512
    assert {t["function"]["name"] for t in first["tools"]} >= {"read", "bash", "edit", "write"}
    system, user = first["messages"][0], first["messages"][1]
    assert system["role"] == "system" and "Be brief." in system["content"]
    assert user["content"][0]["text"] == "-@create hello.txt"
    assert len(api.requests) == 3

    # pi's own files all live in the trial dir; the transcript is its session file.
    assert run.transcript_path is not None
    transcript = Path(run.transcript_path)
    assert transcript.is_relative_to(trial) and transcript.suffix == ".jsonl"
    assert '"toolCall"' in transcript.read_text()
    settings = json.loads((trial / "pi/agent/settings.json").read_text())
    assert settings["compaction"]["enabled"] is False and settings["retry"]["enabled"] is False
    assert (trial / "pi/events.jsonl").read_text().count("tool_execution_end") == 2


def test_timeout_kills_the_agent_and_its_children(pi: PiHarness, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    tag = marker()
    script = [Reply(tool="bash", arguments={"command": f"sleep {tag} & sleep {tag}; wait"})]
    with ScriptedOpenAI(script, model=MODEL) as api:
        start = time.monotonic()
        run = pi.run(workspace, tmp_path / "trial", endpoint(api.base_url), "go", None, timeout_s=5)
        elapsed = time.monotonic() - start
    assert run.stopped_by == "timeout" and run.exit_code is None
    assert run.error is None
    assert elapsed < 5 + pi.grace_s + 5
    assert [s.tool for s in run.steps] == ["bash"]
    assert run.steps[0].end_ns is None or run.steps[0].is_error
    assert wait_gone(f"sleep {tag}") == []


def test_model_error_is_reported(pi: PiHarness, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    with ScriptedOpenAI([], model=MODEL) as api:
        dead = api.base_url
    run = pi.run(workspace, tmp_path / "trial", endpoint(dead), "hi", None, timeout_s=60)
    assert run.error is not None and "model error" in run.error
    assert run.steps == ()


def test_run_without_install_is_an_error_not_an_exception(tmp_path: Path) -> None:
    harness = PiHarness(root=tmp_path)
    run = harness.run(tmp_path, tmp_path / "t", endpoint("http://127.0.0.1:9/v1"), "hi", None, 5)
    assert run.error is not None and "not installed" in run.error
    assert run.exit_code is None


def test_install_is_idempotent(pi: PiHarness) -> None:
    start = time.monotonic()
    pi.install(CACHE_ROOT)
    assert time.monotonic() - start < 2
    assert pi.executable(CACHE_ROOT).exists()


def test_install_without_npm_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="not found"):
        PiHarness(npm=str(tmp_path / "no-npm")).install(tmp_path)


def test_install_of_an_unknown_version_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match=r"npm install .*0\.0\.0-benchlab-missing failed"):
        PiHarness(version="0.0.0-benchlab-missing").install(tmp_path)
    assert not (tmp_path / "agents/pi/0.0.0-benchlab-missing/.benchlab-installed").exists()


def test_install_refuses_option_like_versions(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="invalid version"):
        PiHarness(version="--global").install(tmp_path)


def test_events_cut_off_mid_line_are_tolerated() -> None:
    lines = [
        (1, '{"type":"session","id":"abc"}\n'),
        (2, '{"type":"tool_execution_start","toolCallId":"c1","toolName":"ls","args":{}}\n'),
        (3, "Warning: something pi printed\n"),
        (4, '{"type":"tool_execution_end","toolCallId":"c1","toolName":"ls","result":{"con'),
    ]
    transcript = parse_events(lines)
    assert transcript.session_id == "abc"
    assert transcript.other_lines[0].startswith("Warning")
    assert [(s.tool, s.start_ns, s.is_error) for s in transcript.steps] == [("ls", 2, True)]


@pytest.mark.slow
def test_pi_against_the_real_small_model(pi: PiHarness, llama_server: Any, tmp_path: Path) -> None:
    """pi and llama-server understand each other; the tiny model's work is not judged."""
    task = load_task(TASKS / "sample.yaml")
    ws = prepare_workspace(task, TASKS, parent=tmp_path)
    model = AgentEndpoint(
        base_url=llama_server.openai_base_url,
        model=MODEL_ALIAS,
        context_window=8192,
        max_output_tokens=32,
    )
    trial = tmp_path / "trial"
    run = pi.run(ws.path, trial, model, task.rendered_prompt(), task.system_prompt, 90)
    assert run.harness == "pi" and run.version == pi.version
    assert run.stopped_by == "timeout" or run.exit_code == 0, run.error
    lines = (trial / "pi/events.jsonl").read_text().splitlines()
    answers = [
        json.loads(line)["message"]
        for line in lines
        if '"message_end"' in line and '"role":"assistant"' in line
    ]
    # At least the first call was accepted and answered by the real server.
    assert answers and answers[0]["stopReason"] != "error", answers[:1]
    assert answers[0]["usage"]["input"] > 0
