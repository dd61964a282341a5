"""A plain-text rendering of what happened in a trial: model answers and tool steps.

Judges and people read it, so it says things in the order they happened: each model
answer with the tool calls it asked for, then the agent's tool executions those calls
led to, and the final answer last.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from benchlab.curate.trim import trim
from benchlab.results import AgentStep, ModelCall, TrialResult

STEP_OUTPUT_CHARS = 1500
"""Each tool output is trimmed to this many characters before the whole is."""


def _call_lines(call: ModelCall) -> Iterator[str]:
    header = f"## model call {call.index}"
    if call.finish_reason:
        header += f" (finish: {call.finish_reason})"
    if call.stopped_by:
        header += f" (refused by limit: {call.stopped_by})"
    if call.error:
        header += f" (error: {call.error.splitlines()[0]})"
    yield header
    if call.response_text.strip():
        yield call.response_text.rstrip()
    for tc in call.tool_calls:
        flags = "" if tc.offered else " [tool not offered]"
        flags += "" if tc.valid_json else " [arguments not valid JSON]"
        yield f"-> {tc.name} {tc.arguments}{flags}"


def _step_lines(step: AgentStep) -> Iterator[str]:
    arguments = json.dumps(step.arguments, ensure_ascii=False, sort_keys=True)
    yield f"## tool {step.tool}{' (error)' if step.is_error else ''} {arguments}"
    output = trim(step.output.rstrip(), STEP_OUTPUT_CHARS).text.rstrip()
    if output:
        yield output


def render(result: TrialResult) -> str:
    """The trial as text: calls, each followed by the tool steps it asked for, then the
    final answer. Steps are matched to calls in order, by the number of tool calls."""
    steps = list(result.agent.steps) if result.agent else []
    lines: list[str] = []
    for call in result.calls:
        lines.extend(_call_lines(call))
        for _ in call.tool_calls:
            if steps:
                lines.extend(_step_lines(steps.pop(0)))
    for step in steps:
        lines.extend(_step_lines(step))
    final = result.agent.final_answer if result.agent else ""
    if final.strip():
        lines.append("## final answer")
        lines.append(final.rstrip())
    return "\n".join(lines) + "\n" if lines else ""
