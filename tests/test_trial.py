"""One trial through the real gateway, the real pi agent and the real sample task.

The upstream is the scripted OpenAI server (standing in for an API provider), so the
conversation is known and the trial's status can be asserted exactly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchlab.agents.pi import PiHarness
from benchlab.config import find_task
from benchlab.config.tasks import TaskSpec
from benchlab.gateway import Gateway
from benchlab.results import TrialStatus
from benchlab.trial import TrialSpec, run_trial
from tests.agents.openai_double import Reply, ScriptedOpenAI

REPO = Path(__file__).resolve().parents[1]
TASKS = REPO / "tasks"

DIVIDE = '''

def divide(a: float, b: float) -> float:
    """Return a divided by b."""
    if b == 0:
        raise ValueError("division by zero")
    return a / b
'''


def sample(**limits: float) -> TaskSpec:
    task = find_task(TASKS, "sample")
    if limits:
        task = task.model_copy(update={"limits": task.limits.model_copy(update=limits)})
    return task


def spec(task: TaskSpec, upstream: str) -> TrialSpec:
    return TrialSpec(
        task=task,
        task_dir=TASKS,
        model="scripted",
        upstream_base_url=upstream,
        model_alias="scripted",
        context_window=8192,
        params={"model.name": "scripted"},
    )


def solve() -> list[Reply]:
    original = (TASKS / "repos" / "calc" / "calc.py").read_text()
    return [
        Reply(tool="write", arguments={"path": "calc.py", "content": original + DIVIDE}),
        Reply(text="Added divide."),
    ]


def test_solved_trial_passes(pi: PiHarness, gateway: Gateway, tmp_path: Path) -> None:
    with ScriptedOpenAI(solve(), model="scripted") as api:
        result = run_trial(spec(sample(), api.base_url), gateway=gateway, harness=pi,
                           trials_dir=tmp_path)  # fmt: skip
    assert result.status is TrialStatus.passed, result.reason
    assert [c.passed for c in result.checks] == [True, True]
    assert result.diff is not None and result.diff.files == ("calc.py",)
    assert "+def divide" in result.diff.patch
    assert len(result.calls) == 2 and result.calls[0].tool_calls[0].name == "write"
    assert result.agent is not None and result.agent.final_answer == "Added divide."
    assert result.params["task.base_commit"] and result.params["agent.harness"] == "pi"
    # The workspace is removed; the agent's files stay for the record.
    assert not any(p.name == "repo" for p in (tmp_path / result.trial_id).rglob("repo"))


def test_unsolved_trial_fails_its_checks(pi: PiHarness, gateway: Gateway, tmp_path: Path) -> None:
    with ScriptedOpenAI([Reply(text="I cannot do that.")], model="scripted") as api:
        result = run_trial(spec(sample(), api.base_url), gateway=gateway, harness=pi,
                           trials_dir=tmp_path)  # fmt: skip
    assert result.status is TrialStatus.failed
    assert result.reason == "checks failed: divide works"
    assert result.diff is not None and result.diff.files_changed == 0


def test_turn_limit_ends_the_trial_as_limit(
    pi: PiHarness, gateway: Gateway, tmp_path: Path
) -> None:
    with ScriptedOpenAI(solve(), model="scripted") as api:
        result = run_trial(spec(sample(max_turns=1), api.base_url), gateway=gateway,
                           harness=pi, trials_dir=tmp_path)  # fmt: skip
        asked = len(api.requests)
    assert result.status is TrialStatus.limit
    assert "max_turns" in result.reason
    assert asked == 1, "the refused call never reached the upstream"
    assert [c.stopped_by for c in result.calls] == [None, "max_turns"]


@pytest.mark.parametrize("path", ["no-such-repo"])
def test_workspace_failure_is_recorded_as_error(
    pi: PiHarness, gateway: Gateway, tmp_path: Path, path: str
) -> None:
    task = sample().model_copy(
        update={"repository": sample().repository.model_copy(update={"path": path})}
    )
    result = run_trial(spec(task, "http://127.0.0.1:9/v1"), gateway=gateway, harness=pi,
                       trials_dir=tmp_path)  # fmt: skip
    assert result.status is TrialStatus.error
    assert "no-such-repo" in result.reason
    assert result.calls == () and result.agent is None
    assert result.end_ns >= result.start_ns
