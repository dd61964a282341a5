"""The one place a :class:`TrialResult` becomes an MLflow run and trace."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlab.curate.baseline import baseline_metrics
from benchlab.metrics import metrics_for
from benchlab.results import AgentStep, EngineBuild, ModelCall, TrialResult

MAX_PARAM = 500  # MLflow's limit on a param value's length


@dataclass(frozen=True)
class LoggedTrial:
    """Where a trial landed in MLflow."""

    run_id: str
    trace_id: str
    experiment_id: str


def run_name(result: TrialResult) -> str:
    """A readable, stable run name: task, model, quant, cell and repeat."""
    parts = [result.task, result.model, result.quant, result.cell, f"r{result.repeat}"]
    return "-".join(p for p in parts if p)


def tags_for(result: TrialResult) -> dict[str, str]:
    """Run and trace tags (see DESIGN.md, Conventions)."""
    tags = {
        "kind": "trial",
        "trial_key": result.key,
        "repeat": str(result.repeat),
        "sandbox": result.sandbox,
        "tampered": "true" if result.tampered else "",
        "task": result.task,
        "archetype": result.archetype,
        "status": result.status.value,
        "model": result.model,
        "quant": result.quant,
        "cell": result.cell,
        "sweep": result.sweep,
        "harness": result.harness,
        "trial_id": result.trial_id,
    }
    if result.reason:
        tags["reason"] = result.reason[:MAX_PARAM]
    return {k: v for k, v in tags.items() if v}


def params_for(result: TrialResult) -> dict[str, str]:
    """The trial's configuration params plus what the engine reported about itself."""
    params = dict(result.params)
    if result.seed is not None:
        params.setdefault("seed", str(result.seed))
    if result.engine is not None:
        params.setdefault("engine.kind", result.engine.kind)
        if result.engine.version:
            params.setdefault("engine.version", result.engine.version)
        if result.engine.build is not None:
            params.update(_build_params(result.engine.build))
    return params


def _build_params(build: EngineBuild) -> dict[str, str]:
    # The build is part of what was measured: results of two builds must not pool.
    values = {
        "engine.build.version": build.version,
        "engine.build.number": build.build_number,
        "engine.build.commit": build.commit,
        "engine.build.sha": build.fingerprint,
        "engine.build.backends": ",".join(build.backends),
        "engine.build.cpu_variant": build.cpu_variant,
        "engine.build.cpu_features": ",".join(build.cpu_features),
    }
    return {key: value for key, value in values.items() if value}


def _chat_output(call: ModelCall) -> dict[str, Any]:
    # OpenAI's response shape, so MLflow's UI shows the answer as a chat message.
    message: dict[str, Any] = {"role": "assistant", "content": call.response_text}
    if call.tool_calls:
        message["tool_calls"] = [
            {
                "id": tc.id,
                "type": "function",
                "function": {"name": tc.name, "arguments": tc.arguments},
            }
            for tc in call.tool_calls
        ]
    return {
        "choices": [{"index": 0, "message": message, "finish_reason": call.finish_reason}],
        "usage": {
            "prompt_tokens": call.usage.prompt_tokens,
            "completion_tokens": call.usage.completion_tokens,
            "total_tokens": call.usage.prompt_tokens + call.usage.completion_tokens,
        },
    }


def _step_times(result: TrialResult) -> list[tuple[AgentStep, int, int]]:
    """Each agent step with a time span: its own, or the gap after the call that asked for it."""
    steps = result.agent.steps if result.agent else ()
    gaps: list[tuple[int, int]] = []
    for i, call in enumerate(result.calls):
        next_start = result.calls[i + 1].start_ns if i + 1 < len(result.calls) else result.end_ns
        gaps.extend([(call.end_ns, max(call.end_ns, next_start))] * len(call.tool_calls))
    timed = []
    for i, step in enumerate(steps):
        default = gaps[i] if i < len(gaps) else (result.end_ns, result.end_ns)
        start = step.start_ns if step.start_ns is not None else default[0]
        end = step.end_ns if step.end_ns is not None else default[1]
        timed.append((step, start, max(start, end)))
    return timed


def _log_trace(result: TrialResult, run_id: str, experiment_id: str) -> str:
    import mlflow
    from mlflow.entities import SpanStatusCode, SpanType
    from mlflow.tracing.constant import SpanAttributeKey, TraceMetadataKey

    root = mlflow.start_span_no_context(
        name=f"trial {result.task}",
        span_type=SpanType.AGENT,
        inputs={"task": result.task, "prompt": result.prompt, "repository": result.repository},
        attributes={"trial_id": result.trial_id, "harness": result.harness},
        tags=tags_for(result),
        metadata={TraceMetadataKey.SOURCE_RUN: run_id},
        experiment_id=experiment_id,
        start_time_ns=result.start_ns,
    )
    for call in result.calls:
        # MLflow annotates attributes as strings but stores any JSON value.
        attributes: dict[str, Any] = {
            SpanAttributeKey.CHAT_USAGE: {
                "input_tokens": call.usage.prompt_tokens,
                "output_tokens": call.usage.completion_tokens,
                "total_tokens": call.usage.prompt_tokens + call.usage.completion_tokens,
            },
            "model": call.model,
            "stream": call.stream,
            "ttft_s": call.ttft_s,
            "timings": call.timings,
            "finish_reason": call.finish_reason,
            "stopped_by": call.stopped_by,
            "error": call.error,
            "tool_calls.repeated": call.repeated_tool_calls,
            "tool_calls.not_offered": [tc.name for tc in call.tool_calls if not tc.offered],
            "tool_calls.invalid_json": [tc.name for tc in call.tool_calls if not tc.valid_json],
        }
        span = mlflow.start_span_no_context(
            name=f"{call.endpoint} #{call.index}",
            span_type=SpanType.LLM,
            parent_span=root,
            inputs=call.request,
            attributes=attributes,
            start_time_ns=call.start_ns,
        )
        if call.error:
            span.set_status(SpanStatusCode.ERROR)
        span.end(outputs=_chat_output(call), end_time_ns=call.end_ns)
    for step, start, end in _step_times(result):
        span = mlflow.start_span_no_context(
            name=step.tool,
            span_type=SpanType.TOOL,
            parent_span=root,
            inputs=step.arguments,
            start_time_ns=start,
        )
        if step.is_error:
            span.set_status(SpanStatusCode.ERROR)
        span.end(outputs={"output": step.output}, end_time_ns=end)
    if result.status.value in ("error", "timeout"):
        root.set_status(SpanStatusCode.ERROR)
    root.end(
        outputs={
            "status": result.status.value,
            "reason": result.reason,
            "final_answer": result.agent.final_answer if result.agent else "",
            "diff": result.diff.patch if result.diff else "",
            "checks": {c.name: c.passed for c in result.checks},
        },
        end_time_ns=max(result.end_ns, result.start_ns),
    )
    mlflow.flush_trace_async_logging()
    return str(root.trace_id)


def _write_artifacts(result: TrialResult, folder: Path) -> None:
    (folder / "result.json").write_text(result.model_dump_json(indent=2))
    if result.diff is not None:
        (folder / "diff.patch").write_text(result.diff.patch)
    if result.engine is not None and result.engine.flags:
        # The exact command line, one argument per line, so it can be rerun by hand.
        (folder / "engine-command.txt").write_text("\n".join(result.engine.flags) + "\n")
    for check in result.checks:
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in check.name)
        (folder / f"check-{safe}.txt").write_text(
            f"$ {check.command}\nexit {check.exit_code} (expected {check.expected_exit})\n\n"
            f"{check.output}"
        )


def log_trial(
    result: TrialResult,
    *,
    extra_artifacts: list[Path] | None = None,
    parent_run_id: str | None = None,
) -> LoggedTrial:
    """Log one trial as one MLflow run with one trace; tracking must be set up first."""
    import mlflow

    with mlflow.start_run(
        run_name=run_name(result), nested=parent_run_id is not None, parent_run_id=parent_run_id
    ) as run:
        run_id = run.info.run_id
        experiment_id = run.info.experiment_id
        mlflow.set_tags(tags_for(result))
        mlflow.log_params({k: v[:MAX_PARAM] for k, v in params_for(result).items()})
        # The baseline metrics are logged now, with the rest, so that curation only reads.
        mlflow.log_metrics({**metrics_for(result), **baseline_metrics(result)})
        with tempfile.TemporaryDirectory(prefix="benchlab-artifacts-") as tmp:
            _write_artifacts(result, Path(tmp))
            mlflow.log_artifacts(tmp)
        for path in extra_artifacts or []:
            if path.is_file():
                mlflow.log_artifact(str(path), artifact_path="agent")
        trace_id = _log_trace(result, run_id, experiment_id)
        mlflow.set_tag("trace_id", trace_id)
    return LoggedTrial(run_id=run_id, trace_id=trace_id, experiment_id=experiment_id)
