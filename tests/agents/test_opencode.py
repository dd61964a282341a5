"""The real opencode CLI, driven through a scripted endpoint and the small model."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from benchlab.agents import AgentEndpoint, Harness
from benchlab.agents.opencode import EXPORT_TIMEOUT_S, OpencodeHarness
from benchlab.agents.opencode_events import parse_events
from benchlab.config import find_task
from benchlab.engine import LlamaServer
from benchlab.gateway import Gateway
from benchlab.trial import TrialSpec, run_trial
from tests.agents.openai_double import Reply, ScriptedOpenAI
from tests.fixtures.agents import CACHE_ROOT
from tests.fixtures.llama import MODEL_ALIAS
from tests.helpers_proc import marker, wait_gone

MODEL = "scripted-model"
TASKS = Path(__file__).resolve().parents[2] / "tasks"


def endpoint(base_url: str) -> AgentEndpoint:
    return AgentEndpoint(base_url=base_url, model=MODEL, context_window=4096, max_output_tokens=512)


def test_opencode_is_a_harness(opencode: OpencodeHarness) -> None:
    assert isinstance(opencode, Harness)
    assert (opencode.name, opencode.version) == ("opencode", "1.18.33")
    assert opencode.install_paths() == (opencode.prefix(CACHE_ROOT),)
    # npm brought the native binary of this platform through an optional dependency.
    assert (opencode.prefix(CACHE_ROOT) / "node_modules" / "opencode-linux-x64").is_dir()


def test_run_edits_workspace_and_is_parsed(opencode: OpencodeHarness, tmp_path: Path) -> None:
    workspace, trial = tmp_path / "ws", tmp_path / "trial"
    workspace.mkdir()
    hello = str(workspace / "hello.txt")
    script = [
        Reply(tool="write", arguments={"filePath": hello, "content": "hello\n"}),
        Reply(tool="bash", arguments={"command": "cat hello.txt; exit 3", "description": "show"}),
        Reply(text="I wrote hello.txt."),
    ]
    with ScriptedOpenAI(script, model=MODEL) as api:
        run = opencode.run(
            workspace, trial, endpoint(api.base_url), "-@create hello.txt", "Be {{brief}}.", 120
        )
    assert run.error is None, run.error
    assert (run.exit_code, run.stopped_by) == (0, None)
    assert (workspace / "hello.txt").read_text() == "hello\n"
    assert [s.tool for s in run.steps] == ["write", "bash"]
    write, bash = run.steps
    assert write.arguments == {"filePath": hello, "content": "hello\n"} and not write.is_error
    assert bash.is_error and bash.output == "hello\n"
    for step in run.steps:
        assert step.start_ns is not None and step.end_ns is not None
        assert step.start_ns <= step.end_ns
    assert run.final_answer == "I wrote hello.txt."

    # Exactly the agent's three calls: no title or summary calls of its own.
    assert len(api.requests) == 3
    first = api.requests[0]
    assert first["model"] == MODEL and first["max_tokens"] == 512
    assert {t["function"]["name"] for t in first["tools"]} >= {"bash", "edit", "write", "read"}
    assert not {"webfetch", "websearch"} & {t["function"]["name"] for t in first["tools"]}
    system, user = first["messages"][0], first["messages"][-1]
    assert system["role"] == "system" and "Be {{brief}}." in system["content"]
    assert "-@create hello.txt" in json.dumps(user["content"])

    # The transcript is the exported session; opencode's files all live in the trial dir.
    assert run.transcript_path == str(trial.resolve() / "opencode" / "session.json")
    session = json.loads(Path(run.transcript_path).read_text())
    assert session["info"]["title"] == "benchlab trial" and len(session["messages"]) >= 4
    assert sorted(p.name for p in workspace.iterdir()) == ["hello.txt"]


@pytest.mark.slow
def test_timeout_kills_the_agent_and_its_children(
    opencode: OpencodeHarness, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    tag = marker()
    command = f"sleep {tag} & sleep {tag}; wait"
    script = [Reply(tool="bash", arguments={"command": command, "description": "wait"})]
    with ScriptedOpenAI(script, model=MODEL) as api:
        start = time.monotonic()
        run = opencode.run(workspace, tmp_path / "t", endpoint(api.base_url), "go", None, 30)
        elapsed = time.monotonic() - start
    assert run.stopped_by == "timeout" and run.exit_code is None and run.error is None
    assert elapsed < 30 + opencode.grace_s + EXPORT_TIMEOUT_S
    assert wait_gone(f"sleep {tag}") == []


def test_run_without_install_is_an_error_not_an_exception(tmp_path: Path) -> None:
    harness = OpencodeHarness(root=tmp_path)
    run = harness.run(tmp_path, tmp_path / "t", endpoint("http://127.0.0.1:9/v1"), "hi", None, 5)
    assert run.error is not None and "not installed" in run.error


def test_events_cut_off_mid_line_and_model_errors() -> None:
    lines = [
        (1, '{"type":"step_start","sessionID":"ses_a","part":{}}\n'),
        (2, "a warning\n"),
        (3, '{"type":"error","sessionID":"ses_a","error":{"name":"APIError",'
            '"data":{"message":"Cannot connect"}}}\n'),
        (4, '{"type":"tool_use","sessionID":"ses_a","part":{"tool":"read","state":{"sta'),
    ]  # fmt: skip
    out = parse_events(lines)
    assert (out.session_id, out.events, out.other_lines[0]) == ("ses_a", 2, "a warning")
    assert len(out.other_lines) == 2, "the cut-off line is kept as a foreign line"
    assert out.model_error == "APIError: Cannot connect" and out.steps == []


@pytest.mark.slow
def test_trial_with_the_real_small_model(
    opencode: OpencodeHarness, llama_server: LlamaServer, gateway: Gateway, tmp_path: Path
) -> None:
    """One recorded trial through the gateway; the tiny model's work is not judged."""
    task = find_task(TASKS, "sample")
    limits = task.limits.model_copy(update={"max_turns": 3, "max_output_tokens": 300})
    task = task.model_copy(update={"limits": limits.model_copy(update={"timeout_s": 240})})
    spec = TrialSpec(
        task=task,
        task_dir=TASKS,
        model="gemma",
        upstream_base_url=llama_server.openai_base_url,
        model_alias=MODEL_ALIAS,
        context_window=8192,
    )
    result = run_trial(spec, gateway=gateway, harness=opencode, trials_dir=tmp_path)
    agent = result.agent
    assert agent is not None and agent.harness == "opencode", result.reason
    assert len(result.calls) > 0
    first = result.calls[0]
    if first.status_code != 200:
        # opencode's system prompt and tools (about 7k tokens) can exceed a small
        # server slot: then the real server's refusal is what the record must show.
        assert first.error is not None and "exceed_context_size" in first.error, first.error
        assert agent.error is not None, "the refusal ends the run as an error"
    else:
        assert first.usage.prompt_tokens > 0
    assert agent.transcript_path is not None and Path(agent.transcript_path).is_file()
    events = (tmp_path / result.trial_id / "agent" / "opencode" / "events.jsonl").read_text()
    tool_events = [json.loads(line) for line in events.splitlines() if '"tool_use"' in line]
    assert [s.tool for s in agent.steps] == [e["part"]["tool"] for e in tool_events]
