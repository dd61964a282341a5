"""What an agent's own event stream says it did: the shape every harness reads its
JSONL events into, and the rules they share for reading them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from benchlab.results import AgentStep

OUTPUT_LIMIT = 20_000
"""Characters of a tool's output kept per step."""


@dataclass
class Transcript:
    """What the event stream says the agent did."""

    steps: list[AgentStep] = field(default_factory=list)
    final_answer: str = ""
    model_error: str | None = None
    """The error of the last model call, when the run ended on one (the agent may still
    exit 0)."""
    session_id: str | None = None
    events: int = 0
    other_lines: list[str] = field(default_factory=list)
    """Lines that are not JSON events (warnings the agent prints to stdout)."""


def load_event(line: str) -> dict[str, Any] | None:
    """One JSONL event (an object with a ``type``); None for a cut-off or foreign line."""
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) and "type" in event else None
