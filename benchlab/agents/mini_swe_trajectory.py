"""mini-swe-agent's trajectory file (``-o FILE``), read into the parts of an AgentRun.

The file (format ``mini-swe-agent-1.1``) is rewritten after every step, so a killed
run still leaves the steps up to the kill. Its ``messages`` hold, in order: assistant
messages whose ``extra.actions`` are the bash commands asked for (with
``tool_call_id``), tool messages with the matching ``tool_call_id`` and
``extra.raw_output``/``returncode``/``exception_info``/``timestamp``, and a last
message of role ``exit`` whose ``extra.exit_status`` says how the run ended
(``Submitted``, ``LimitsExceeded``, or the name of the exception that ended it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchlab.agents.transcript import OUTPUT_LIMIT
from benchlab.results import AgentStep

SUBMIT = "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
"""The command output by which mini-swe-agent's model says it is done."""
ENDED_BY_MODEL = ("Submitted", "LimitsExceeded", "TimeExceeded", "RepeatedFormatError")
"""Exit statuses of a run that ended normally (the model's doing, not a failure)."""


@dataclass
class MiniTranscript:
    """What the trajectory says the agent did."""

    steps: list[AgentStep] = field(default_factory=list)
    final_answer: str = ""
    exit_status: str = ""
    """``Submitted``, ``LimitsExceeded``, ..., or an exception's name; empty if unfinished."""
    exit_message: str = ""
    """The exit message's content: the submission, or the exception's text."""
    api_calls: int = 0

    @property
    def failure(self) -> str | None:
        """Why the run failed, if it ended on an exception (a model or tool error)."""
        if not self.exit_status or self.exit_status in ENDED_BY_MODEL:
            return None
        return f"{self.exit_status}: {self.exit_message}".strip().rstrip(":")


def read_trajectory(path: Path) -> MiniTranscript:
    """Read a trajectory file; a missing or unreadable one gives an empty transcript."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return MiniTranscript()
    return parse_trajectory(data if isinstance(data, dict) else {})


def parse_trajectory(data: dict[str, Any]) -> MiniTranscript:
    """Pair each bash action with its tool message; keep the answer and exit status."""
    out = MiniTranscript()
    pending: list[tuple[dict[str, Any], dict[str, Any]]] = []
    exit_extra: dict[str, Any] = {}
    for message in data.get("messages") or []:
        if not isinstance(message, dict):
            continue
        role, extra = message.get("role"), _dict(message.get("extra"))
        if role == "assistant":
            _flush(pending, out.steps)
            out.final_answer = _text(message.get("content")) or out.final_answer
            actions = extra.get("actions") or []
            pending = [(a, extra) for a in actions if isinstance(a, dict)]
        elif role == "tool" and pending:
            # Results follow their answer in the order of its actions; ids need not be unique.
            ids = [a.get("tool_call_id") for a, _ in pending]
            call_id = message.get("tool_call_id")
            action, asked = pending.pop(ids.index(call_id) if call_id in ids else 0)
            out.steps.append(_step(action, extra, asked))
        elif role == "exit":
            exit_extra = extra
            out.exit_message = _text(message.get("content"))
    _flush(pending, out.steps)
    out.exit_status = str(exit_extra.get("exit_status") or "")
    info = _dict(data.get("info"))
    out.api_calls = int(_dict(info.get("model_stats")).get("api_calls") or 0)
    if out.exit_status == "Submitted":
        submission = str(exit_extra.get("submission") or "").strip()
        out.final_answer = submission or out.final_answer
        _mark_submission(out.steps, submission)
    return out


def _flush(pending: list[tuple[dict[str, Any], dict[str, Any]]], steps: list[AgentStep]) -> None:
    # Actions with no result: the agent was stopped while they ran.
    steps.extend(_step(action, {}, asked) for action, asked in pending)
    pending.clear()


def _step(action: dict[str, Any], result: dict[str, Any], asked: dict[str, Any]) -> AgentStep:
    returncode = result.get("returncode")
    exception = str(result.get("exception_info") or "")
    output = str(result.get("raw_output") or "") if result else "(not finished)"
    if exception:
        output = f"{output}\n{exception}".strip()
    return AgentStep(
        tool="bash",
        arguments={"command": str(action.get("command", ""))},
        output=output[:OUTPUT_LIMIT],
        is_error=not result or returncode != 0 or bool(exception),
        # The command starts right after the model's answer arrives.
        start_ns=_ns(asked.get("timestamp")),
        end_ns=_ns(result.get("timestamp")),
    )


def _mark_submission(steps: list[AgentStep], submission: str) -> None:
    # The submit command ends the run before its output is recorded, so mini-swe-agent
    # logs it as "not executed"; it did run, and its output is the submission.
    if steps and SUBMIT in str(steps[-1].arguments.get("command", "")):
        steps[-1] = steps[-1].model_copy(update={"is_error": False, "output": submission})


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content.strip()
    if isinstance(content, list):
        parts = [b.get("text", "") for b in content if isinstance(b, dict)]
        return "\n".join(p for p in parts if isinstance(p, str)).strip()
    return ""


def _ns(seconds: Any) -> int | None:
    return int(seconds * 1e9) if isinstance(seconds, int | float) else None
