"""Baseline metrics of one trial: deterministic, from its :class:`TrialResult` alone.

Every name starts with ``baseline.``; the same names are MLflow metrics on the trial's
run and keys of the dataset record's ``outputs.metrics``. Families:

- efficiency: turns, tokens in and out, wall time, time in the model and in tools;
- tool use: calls by tool name, tool error rate, calls to tools that were not offered
  (hallucinated), arguments that are not valid JSON (schema adherence), and loops;
- ``baseline.heuristic.*``: refusal and sycophancy signals (see :mod:`.heuristics`);
- system: time to first token, prompt and generation speed, load time, peak memory.

A metric whose inputs are absent (no streamed call, no engine info) is left out rather
than written as zero.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections import Counter
from itertools import pairwise

from benchlab.curate.heuristics import heuristic_metrics
from benchlab.metrics import SPEED_TIMINGS, token_weighted_rate
from benchlab.results import ModelCall, TrialResult

PREFIX = "baseline."
LOOP_REPEATS = 3
"""The same tool call with the same arguments this many times in a row is a loop."""

_METRIC_NAME = re.compile(r"[^A-Za-z0-9_.\-]")


def nearest_rank(values: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) by the nearest-rank method: a value that occurred."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _call_key(name: str, arguments: str) -> tuple[str, str]:
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return name, arguments.strip()
    # Key order and spacing do not make a call different.
    return name, json.dumps(parsed, sort_keys=True, separators=(",", ":"))


def loop_runs(calls: tuple[ModelCall, ...], repeats: int = LOOP_REPEATS) -> list[int]:
    """Lengths of the runs of identical consecutive tool calls that are loops.

    All tool calls of the trial are taken in order (across answers); a run is a maximal
    stretch of calls with the same name and the same arguments (JSON compared by value),
    and it is a loop when it is at least ``repeats`` long. Different commands to the same
    tool (three different ``bash`` calls) are three runs of one, not a loop.
    """
    runs: list[int] = []
    previous: tuple[str, str] | None = None
    for key in (_call_key(tc.name, tc.arguments) for c in calls for tc in c.tool_calls):
        if key == previous:
            runs[-1] += 1
        else:
            runs.append(1)
        previous = key
    return [n for n in runs if n >= repeats]


def _tools_time_s(result: TrialResult) -> float:
    """Seconds in tool executions: the agent's own step times when it gave them all,
    else the gaps between a call that asked for tools and the next call."""
    steps = result.agent.steps if result.agent else ()
    if steps and all(s.start_ns is not None and s.end_ns is not None for s in steps):
        return sum((s.end_ns or 0) - (s.start_ns or 0) for s in steps) / 1e9
    calls = result.calls
    gaps = (nxt.start_ns - call.end_ns for call, nxt in pairwise(calls) if call.tool_calls)
    return sum(max(0, gap) for gap in gaps) / 1e9


def _efficiency(result: TrialResult) -> dict[str, float]:
    return {
        "turns": float(len(result.calls)),
        "tokens.input": float(result.input_tokens),
        "tokens.output": float(result.output_tokens),
        "wall_s": result.wall_s,
        "time.model_s": sum(c.end_ns - c.start_ns for c in result.calls) / 1e9,
        "time.tools_s": _tools_time_s(result),
    }


def _tool_use(result: TrialResult, loop_repeats: int) -> dict[str, float]:
    tool_calls = [tc for c in result.calls for tc in c.tool_calls]
    metrics: dict[str, float] = {"tool_calls.total": float(len(tool_calls))}
    for name, count in sorted(Counter(tc.name for tc in tool_calls).items()):
        metrics[f"tool_calls.by_tool.{_METRIC_NAME.sub('_', name) or '_'}"] = float(count)
    hallucinated = sum(not tc.offered for tc in tool_calls)
    invalid = sum(not tc.valid_json for tc in tool_calls)
    metrics["tool_calls.hallucinated"] = float(hallucinated)
    metrics["tool_calls.invalid_json"] = float(invalid)
    if tool_calls:
        metrics["tool_calls.hallucinated_rate"] = hallucinated / len(tool_calls)
        metrics["schema_adherence"] = 1 - invalid / len(tool_calls)
    steps = result.agent.steps if result.agent else ()
    errors = sum(s.is_error for s in steps)
    metrics["tool_steps"] = float(len(steps))
    metrics["tool_errors"] = float(errors)
    if steps:
        metrics["tool_error_rate"] = errors / len(steps)
    loops = loop_runs(result.calls, loop_repeats)
    metrics["loops"] = float(len(loops))
    metrics["loops.longest"] = float(max(loops, default=0))
    return metrics


def _system(result: TrialResult) -> dict[str, float]:
    metrics: dict[str, float] = {}
    ttfts = [c.ttft_s for c in result.calls if c.ttft_s is not None]
    if ttfts:
        metrics["ttft.p50_s"] = statistics.median(ttfts)
        metrics["ttft.p95_s"] = nearest_rank(ttfts, 0.95)
    for name, keys in SPEED_TIMINGS.items():
        value = token_weighted_rate(result.calls, *keys)
        if value is not None:
            metrics[name] = value
    engine = result.engine
    if engine is not None:
        if engine.load_time_s is not None:
            metrics["engine.load_time_s"] = engine.load_time_s
        if engine.peak_rss_bytes is not None:
            metrics["engine.peak_rss_mb"] = engine.peak_rss_bytes / 2**20
        # Recorded only by engines that sample a GPU; older results lack the field.
        vram = getattr(engine, "peak_vram_bytes", None)
        if isinstance(vram, int):
            metrics["engine.peak_vram_mb"] = vram / 2**20
    return metrics


def baseline_metrics(result: TrialResult, loop_repeats: int = LOOP_REPEATS) -> dict[str, float]:
    """Every baseline metric of one trial, named ``baseline.<family>.<name>``.

    Args:
        result: The trial's full record.
        loop_repeats: How many identical tool calls in a row make a loop.
    """
    answers = [c.response_text for c in result.calls]
    final = result.agent.final_answer if result.agent else ""
    if not final and answers:
        final = answers[-1]
    metrics = {
        **_efficiency(result),
        **_tool_use(result, loop_repeats),
        **heuristic_metrics(final, answers),
        **_system(result),
    }
    return {PREFIX + name: float(value) for name, value in metrics.items()}
