"""The real mini-swe-agent CLI, driven through a scripted endpoint and the small model."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from benchlab.agents import AgentEndpoint, Harness
from benchlab.agents.mini_swe import MiniSweAgentHarness
from benchlab.agents.mini_swe_config import jinja_literal
from benchlab.agents.mini_swe_trajectory import parse_trajectory
from benchlab.config import find_task
from benchlab.engine import LlamaServer
from benchlab.errors import AgentError
from benchlab.gateway import Gateway
from benchlab.trial import TrialSpec, run_trial
from tests.agents.openai_double import Reply, ScriptedOpenAI
from tests.fixtures.agents import CACHE_ROOT
from tests.fixtures.llama import MODEL_ALIAS
from tests.helpers_proc import marker, wait_gone

MODEL = "scripted-model"
TASKS = Path(__file__).resolve().parents[2] / "tasks"
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"


def endpoint(base_url: str) -> AgentEndpoint:
    return AgentEndpoint(base_url=base_url, model=MODEL, context_window=4096, max_output_tokens=512)


def test_mini_swe_is_a_harness(mini_swe: MiniSweAgentHarness) -> None:
    assert isinstance(mini_swe, Harness)
    assert (mini_swe.name, mini_swe.version) == ("mini-swe-agent", "2.4.6")
    prefix = mini_swe.prefix(CACHE_ROOT)
    assert mini_swe.install_paths()[0] == prefix
    assert (prefix / "bin" / "mini").exists()


def test_run_edits_workspace_and_is_parsed(mini_swe: MiniSweAgentHarness, tmp_path: Path) -> None:
    workspace, trial = tmp_path / "ws", tmp_path / "trial"
    workspace.mkdir()
    script = [
        Reply(text="Writing it.", tool="bash", arguments={"command": "echo hello > hello.txt"}),
        Reply(tool="bash", arguments={"command": "cat hello.txt; exit 3"}),
        Reply(text="Done.", tool="bash", arguments={"command": SUBMIT}),
    ]
    prompt = "-c create hello.txt {{ not_a_variable }}"
    with ScriptedOpenAI(script, model=MODEL) as api:
        run = mini_swe.run(workspace, trial, endpoint(api.base_url), prompt, "Be {{brief}}.", 120)
    assert run.error is None, run.error
    assert (run.exit_code, run.stopped_by) == (0, None)
    assert (workspace / "hello.txt").read_text() == "hello\n"
    assert [s.arguments["command"] for s in run.steps] == [
        "echo hello > hello.txt",
        "cat hello.txt; exit 3",
        SUBMIT,
    ]
    write, cat, submit = run.steps
    assert (write.is_error, cat.is_error, submit.is_error) == (False, True, False)
    assert cat.output == "hello\n"
    for step in run.steps:
        assert step.tool == "bash"
        assert step.start_ns is not None and step.end_ns is not None
        assert step.start_ns <= step.end_ns
    assert run.final_answer == "Done."

    # What reached the endpoint: our model and limits; prompt and system prompt verbatim.
    assert len(api.requests) == 3
    first = api.requests[0]
    assert first["model"] == MODEL and first["max_tokens"] == 512
    assert [t["function"]["name"] for t in first["tools"]] == ["bash"]
    system, user = first["messages"][0], first["messages"][1]
    assert system["role"] == "system" and system["content"].rstrip().endswith("Be {{brief}}.")
    assert prompt in user["content"]

    # Its files all live in the trial dir; the transcript is its trajectory.
    assert run.transcript_path == str(trial.resolve() / "mini-swe-agent" / "trajectory.json")
    data = json.loads(Path(run.transcript_path).read_text())
    assert data["info"]["exit_status"] == "Submitted"
    assert not (workspace / ".mini-swe-agent").exists()
    assert sorted(p.name for p in workspace.iterdir()) == ["hello.txt"]


def test_model_error_is_reported(mini_swe: MiniSweAgentHarness, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    with ScriptedOpenAI([], model=MODEL) as api:
        dead = api.base_url
    start = time.monotonic()
    run = mini_swe.run(workspace, tmp_path / "trial", endpoint(dead), "hi", None, timeout_s=120)
    assert time.monotonic() - start < 60, "no retries against a dead endpoint"
    assert run.error is not None and "Connection error" in run.error, run.error
    assert run.exit_code not in (0, None)
    assert run.steps == ()


@pytest.mark.slow
def test_timeout_stops_the_agent_and_its_commands(
    mini_swe: MiniSweAgentHarness, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    tag = marker()
    script = [
        # Its commands run in sessions of their own: one left in the background...
        Reply(tool="bash", arguments={"command": f"(sleep {tag} >/dev/null 2>&1 &); echo started"}),
        # ...and one still running when the agent is stopped.
        Reply(tool="bash", arguments={"command": f"sleep {tag}"}),
    ]
    script_commands = [r.arguments["command"] for r in script]
    with ScriptedOpenAI(script, model=MODEL) as api:
        start = time.monotonic()
        run = mini_swe.run(workspace, tmp_path / "t", endpoint(api.base_url), "go", None, 30)
        elapsed = time.monotonic() - start
    assert run.stopped_by == "timeout" and run.exit_code is None and run.error is None
    assert elapsed < 30 + 2 * mini_swe.grace_s + 5
    assert wait_gone(f"sleep {tag}") == []
    # mini-swe-agent saves its trajectory after each step: the action cut off by the
    # stop is not in it (the gateway's record of the call has it).
    assert [(s.arguments["command"], s.is_error) for s in run.steps] == [
        (script_commands[0], False)
    ]


def test_run_without_install_is_an_error_not_an_exception(tmp_path: Path) -> None:
    harness = MiniSweAgentHarness(root=tmp_path)
    run = harness.run(tmp_path, tmp_path / "t", endpoint("http://127.0.0.1:9/v1"), "hi", None, 5)
    assert run.error is not None and "not installed" in run.error
    assert run.exit_code is None


def test_install_is_idempotent(mini_swe: MiniSweAgentHarness) -> None:
    start = time.monotonic()
    mini_swe.install(CACHE_ROOT)
    assert time.monotonic() - start < 2


def test_install_without_uv_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="not found; install uv"):
        MiniSweAgentHarness(uv=str(tmp_path / "no-uv")).install(tmp_path)


def test_install_refuses_option_like_versions(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="invalid requirements"):
        MiniSweAgentHarness(version="--index-url=http://x").install(tmp_path)


def test_trajectory_pairs_results_by_order_and_keeps_unfinished_actions() -> None:
    data = {
        "messages": [
            {"role": "system", "content": "s"},
            {"role": "assistant", "content": "a", "extra": {"actions": [
                {"command": "ls", "tool_call_id": "c"}, {"command": "pwd", "tool_call_id": "c"}
            ], "timestamp": 1.0}},
            {"role": "tool", "tool_call_id": "c", "content": "x",
             "extra": {"raw_output": "f\n", "returncode": 0, "timestamp": 2.0}},
            {"role": "tool", "tool_call_id": "c", "content": "x",
             "extra": {"raw_output": "", "returncode": -1, "timestamp": 3.0,
                       "exception_info": "timed out"}},
            {"role": "assistant", "content": "b", "extra": {"actions": [{"command": "sleep 9"}]}},
        ],
    }  # fmt: skip
    out = parse_trajectory(data)
    assert [(s.arguments["command"], s.is_error) for s in out.steps] == [
        ("ls", False),
        ("pwd", True),
        ("sleep 9", True),
    ]
    assert out.steps[1].output == "timed out" and out.steps[2].output == "(not finished)"
    assert (out.final_answer, out.exit_status, out.failure) == ("b", "", None)


def test_jinja_literal_renders_verbatim() -> None:
    jinja2 = pytest.importorskip("jinja2")
    text = "{{ x }} {% if %} {# c #} }} {"
    assert jinja2.Template(jinja_literal(text)).render() == text


@pytest.mark.slow
def test_trial_with_the_real_small_model(
    mini_swe: MiniSweAgentHarness, llama_server: LlamaServer, gateway: Gateway, tmp_path: Path
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
    result = run_trial(spec, gateway=gateway, harness=mini_swe, trials_dir=tmp_path)
    agent = result.agent
    assert agent is not None and agent.harness == "mini-swe-agent", result.reason
    assert result.params["agent.version"] == "2.4.6"
    assert len(result.calls) > 0
    assert result.calls[0].status_code == 200 and result.calls[0].usage.prompt_tokens > 0
    assert agent.transcript_path is not None and Path(agent.transcript_path).is_file()
    data = json.loads(Path(agent.transcript_path).read_text())
    actions = [
        a["command"]
        for m in data["messages"]
        if m["role"] == "assistant"
        for a in m.get("extra", {}).get("actions", [])
    ]
    assert [s.arguments["command"] for s in agent.steps] == actions
    # Every model call the agent made went through the gateway (refused ones included);
    # one cut off by the time limit is not in the trajectory yet.
    unsaved = len(result.calls) - data["info"]["model_stats"]["api_calls"]
    assert unsaved in ((0, 1) if agent.stopped_by == "timeout" else (0,))
