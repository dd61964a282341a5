"""opencode's ``run --format json`` event stream, read into the parts of an AgentRun.

One JSON object a line, each with ``type``, ``timestamp`` (ms) and ``sessionID``:
``tool_use`` carries a finished tool part (``part.tool``, ``part.state`` with
``status`` ``completed``/``error``, ``input``, ``output`` or ``error``,
``metadata.exit`` for bash, and ``time.start``/``time.end`` in ms); ``text`` carries
an assistant text part; ``error`` a failed model call (``error.name``,
``error.data.message``); ``step_start``/``step_finish`` frame each model call.
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
    for stamp, line in lines:
        event = load_event(line)
        if event is None:
            if line.strip():
                out.other_lines.append(line.strip())
            continue
        out.events += 1
        out.session_id = out.session_id or (str(event.get("sessionID") or "") or None)
        kind, part = event.get("type"), _dict(event.get("part"))
        if kind == "tool_use":
            out.steps.append(_step(part, stamp))
            out.model_error = None
        elif kind == "text":
            text = str(part.get("text") or "").strip()
            out.final_answer = text or out.final_answer
            out.model_error = None
        elif kind == "error":
            out.model_error = _error(_dict(event.get("error")))
    return out


def _step(part: dict[str, Any], stamp: int) -> AgentStep:
    state = _dict(part.get("state"))
    status = str(state.get("status") or "")
    exit_code = _dict(state.get("metadata")).get("exit")
    output = state.get("output") if status == "completed" else state.get("error")
    times = _dict(state.get("time"))
    return AgentStep(
        tool=str(part.get("tool") or ""),
        arguments=_dict(state.get("input")),
        output=str(output or "")[:OUTPUT_LIMIT],
        is_error=status != "completed" or (isinstance(exit_code, int) and exit_code != 0),
        start_ns=_ns(times.get("start")),
        end_ns=_ns(times.get("end")) or stamp,
    )


def _error(error: dict[str, Any]) -> str:
    message = _dict(error.get("data")).get("message") or error.get("message") or ""
    name = str(error.get("name") or "error")
    return f"{name}: {message}" if message else name


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ns(ms: Any) -> int | None:
    return int(ms * 1_000_000) if isinstance(ms, int | float) else None
