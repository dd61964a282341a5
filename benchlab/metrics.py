"""A trial's metrics: dotted, stable names, computed from its own records only."""

from __future__ import annotations

import statistics

from benchlab.results import HostLoad, ModelCall, TrialResult

SPEED_TIMINGS = {
    "speed.pp_tps": ("prompt_n", "prompt_ms", "prompt_per_second"),
    "speed.tg_tps": ("predicted_n", "predicted_ms", "predicted_per_second"),
}
"""Each speed figure and the llama-server timings it is computed from (count, time, rate)."""


def token_weighted_rate(
    calls: tuple[ModelCall, ...], n_key: str, ms_key: str, rate_key: str
) -> float | None:
    """Tokens per second over all calls: their tokens over their time, so a long call
    weighs as much as its tokens. Only where the server gave no counts and times, the
    mean of its per-call rates. The one definition of ``speed.pp_tps`` and ``speed.tg_tps``
    for trial metrics, baseline metrics and the report."""
    timed = [c.timings for c in calls if c.timings.get(n_key) and c.timings.get(ms_key)]
    if timed:
        return sum(t[n_key] for t in timed) / (sum(t[ms_key] for t in timed) / 1000)
    rates = [c.timings[rate_key] for c in calls if c.timings.get(rate_key)]
    return statistics.fmean(rates) if rates else None


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def metrics_for(result: TrialResult) -> dict[str, float]:
    """Dotted, stable metric names computed from the trial's own records."""
    calls = result.calls
    tool_calls = [tc for c in calls for tc in c.tool_calls]
    metrics: dict[str, float] = {
        "trial.wall_s": result.wall_s,
        "trial.passed": float(result.status.value == "passed"),
        "turns": float(len(calls)),
        "tokens.input": float(result.input_tokens),
        "tokens.output": float(result.output_tokens),
        "tokens.total": float(result.input_tokens + result.output_tokens),
        "tool_calls.total": float(len(tool_calls)),
        "tool_calls.not_offered": float(sum(not tc.offered for tc in tool_calls)),
        "tool_calls.invalid_json": float(sum(not tc.valid_json for tc in tool_calls)),
        "calls.errors": float(sum(c.error is not None for c in calls)),
        "tool_calls.repeated": float(sum(c.repeated_tool_calls > 0 for c in calls)),
        "model_time_s": sum((c.end_ns - c.start_ns) / 1e9 for c in calls),
    }
    ttfts = [c.ttft_s for c in calls if c.ttft_s is not None]
    if ttfts:
        metrics["ttft.p50_s"] = statistics.median(ttfts)
        metrics["ttft.p95_s"] = _percentile(ttfts, 0.95)
    for name, keys in SPEED_TIMINGS.items():
        value = token_weighted_rate(calls, *keys)
        if value is not None:
            metrics[name] = value
    if result.agent is not None:
        metrics["agent.duration_s"] = result.agent.duration_s
        metrics["agent.steps"] = float(len(result.agent.steps))
        metrics["agent.step_errors"] = float(sum(s.is_error for s in result.agent.steps))
    if result.checks:
        passed = sum(c.passed for c in result.checks)
        metrics["checks.passed"] = float(passed)
        metrics["checks.failed"] = float(len(result.checks) - passed)
        metrics["checks.pass_rate"] = passed / len(result.checks)
    if result.diff is not None:
        metrics["diff.files_changed"] = float(result.diff.files_changed)
        metrics["diff.insertions"] = float(result.diff.insertions)
        metrics["diff.deletions"] = float(result.diff.deletions)
        metrics["diff.outside_allowed"] = float(len(result.diff.outside_allowed))
    if result.engine is not None:
        if result.engine.load_time_s is not None:
            metrics["engine.load_time_s"] = result.engine.load_time_s
        if result.engine.peak_rss_bytes is not None:
            metrics["engine.peak_rss_mb"] = result.engine.peak_rss_bytes / 2**20
        if result.engine.peak_vram_bytes is not None:
            metrics["engine.peak_vram_mb"] = result.engine.peak_vram_bytes / 2**20
        metrics.update(result.engine.probe)
        if result.engine.counted_prompt_tokens is not None:
            # Tokens the server evaluated: prompt tokens less those from its prompt cache.
            metrics["server.prompt_tokens_processed"] = float(result.engine.counted_prompt_tokens)
        if result.engine.counted_output_tokens is not None:
            metrics["server.output_tokens"] = float(result.engine.counted_output_tokens)
        if result.engine.probe_load is not None:
            metrics |= _load_metrics("probe.host", result.engine.probe_load)
    if result.host_load is not None:
        metrics |= _load_metrics("host", result.host_load)
    return metrics


def _load_metrics(prefix: str, load: HostLoad) -> dict[str, float]:
    return {
        f"{prefix}.cpus": float(load.cpus),
        f"{prefix}.load_avg_mean": load.load_avg_mean,
        f"{prefix}.load_avg_max": load.load_avg_max,
        f"{prefix}.other_engines_max": float(load.other_engines_max),
        f"{prefix}.contended": float(load.contended),
    }
