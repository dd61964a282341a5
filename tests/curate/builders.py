"""Hand-built trial results for the curate tests: just the parts a rule reads."""

from __future__ import annotations

import json
from typing import Any

from benchlab.results import (
    AgentRun,
    AgentStep,
    ModelCall,
    ToolCall,
    TrialResult,
    TrialStatus,
    Usage,
)

T0 = 1_700_000_000_000_000_000
MS = 1_000_000


def call(
    index: int,
    *tools: tuple[str, dict[str, Any] | str],
    text: str = "",
    start_ms: int | None = None,
    duration_ms: int = 100,
    **extra: Any,
) -> ModelCall:
    """A model call at ``start_ms`` (default ``index`` seconds in) asking for ``tools``."""
    start = T0 + (index * 1000 if start_ms is None else start_ms) * MS
    return ModelCall(
        index=index,
        endpoint="chat/completions",
        model="m",
        request={},
        response_text=text,
        tool_calls=tuple(
            ToolCall(name=name, arguments=args if isinstance(args, str) else json.dumps(args))
            for name, args in tools
        ),
        start_ns=start,
        end_ns=start + duration_ms * MS,
        **extra,
    )


def result(
    *calls: ModelCall,
    final: str = "",
    steps: tuple[AgentStep, ...] = (),
    trial_id: str = "t1",
    cell: str = "c1",
    status: TrialStatus = TrialStatus.failed,
    **extra: Any,
) -> TrialResult:
    """A finished trial of ten seconds made of ``calls``."""
    return TrialResult(
        trial_id=trial_id,
        task="sample",
        archetype="feature_implementation",
        model="m",
        cell=cell,
        status=status,
        start_ns=T0,
        end_ns=T0 + 10_000 * MS,
        agent=AgentRun(harness="pi", version="1", exit_code=0, final_answer=final, steps=steps),
        calls=calls,
        **extra,
    )


def usage(prompt: int, completion: int) -> Usage:
    """Token usage."""
    return Usage(prompt_tokens=prompt, completion_tokens=completion)
