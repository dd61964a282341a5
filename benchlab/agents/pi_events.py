"""pi's ``--mode json`` event stream, read into the parts of an :class:`AgentRun`.

Events used: ``tool_execution_start``/``tool_execution_end`` (tool, args, result,
``isError``, paired by ``toolCallId``) and ``message_end`` of assistant messages (text
content, ``stopReason``, ``errorMessage``). pi's events carry no times of their own
for tool runs, so each line is stamped when benchlab reads it.
"""

from __future__ import annotations

from typing import Any

from benchlab.agents.transcript import OUTPUT_LIMIT, Transcript, load_event
from benchlab.results import AgentStep


def parse_events(lines: list[tuple[int, str]]) -> Transcript:
    """Read stamped JSONL lines (``(time_ns, line)``) into a transcript.

    Tolerates a cut-off last line (the agent killed mid-write) and foreign lines.
    """
    out = Transcript()
    open_calls: dict[str, tuple[int, str, dict[str, Any]]] = {}
    for stamp, line in lines:
        event = load_event(line)
        if event is None:
            if line.strip():
                out.other_lines.append(line.strip())
            continue
        out.events += 1
        kind = event.get("type")
        if kind == "session":
            out.session_id = str(event.get("id") or "") or None
        elif kind == "tool_execution_start":
            args = event.get("args")
            open_calls[str(event.get("toolCallId"))] = (
                stamp,
                str(event.get("toolName", "")),
                args if isinstance(args, dict) else {},
            )
        elif kind == "tool_execution_end":
            start = open_calls.pop(str(event.get("toolCallId")), None)
            out.steps.append(_step(event, start, stamp))
        elif kind == "message_end":
            _assistant_message(event.get("message"), out)
    for start_ns, tool, args in open_calls.values():
        # A tool still running when the agent was stopped.
        out.steps.append(
            AgentStep(
                tool=tool, arguments=args, is_error=True, output="(not finished)", start_ns=start_ns
            )
        )
    return out


def _step(
    event: dict[str, Any], start: tuple[int, str, dict[str, Any]] | None, end_ns: int
) -> AgentStep:
    tool = str(event.get("toolName", "")) or (start[1] if start else "")
    return AgentStep(
        tool=tool,
        arguments=start[2] if start else {},
        output=_text(event.get("result"))[:OUTPUT_LIMIT],
        is_error=bool(event.get("isError")),
        start_ns=start[0] if start else None,
        end_ns=end_ns,
    )


def _assistant_message(message: Any, out: Transcript) -> None:
    if not isinstance(message, dict) or message.get("role") != "assistant":
        return
    if message.get("stopReason") in ("error", "aborted"):
        out.model_error = str(message.get("errorMessage") or message.get("stopReason"))
        return
    out.model_error = None
    text = _text(message)
    if text:
        out.final_answer = text


def _text(holder: Any) -> str:
    # Both tool results and messages keep a list of typed content blocks.
    if not isinstance(holder, dict):
        return ""
    content = holder.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts = [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
    return "\n".join(p for p in parts if isinstance(p, str)).strip()
