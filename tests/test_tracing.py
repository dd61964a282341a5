"""A TrialResult logged to MLflow (real sqlite store) reads back complete and true."""

from __future__ import annotations

import time

import pytest

from benchlab.metrics import metrics_for
from benchlab.results import (
    AgentRun,
    AgentStep,
    CheckResult,
    DiffResult,
    EngineInfo,
    ModelCall,
    ToolCall,
    TrialResult,
    TrialStatus,
    Usage,
)
from benchlab.tracing import log_trial


def make_result() -> TrialResult:
    t0 = time.time_ns()
    ms = 1_000_000
    calls = (
        ModelCall(
            index=0,
            endpoint="chat/completions",
            model="m",
            request={"messages": [{"role": "user", "content": "add divide"}], "tools": []},
            response_text="",
            tool_calls=(
                ToolCall(id="c1", name="write", arguments='{"path": "calc.py"}'),
                ToolCall(
                    id="c2", name="rm_rf", arguments="{not json", offered=False, valid_json=False
                ),
            ),
            finish_reason="tool_calls",
            usage=Usage(prompt_tokens=120, completion_tokens=30),
            timings={"prompt_n": 120, "predicted_n": 30, "predicted_per_second": 10.0},
            stream=True,
            start_ns=t0 + 10 * ms,
            end_ns=t0 + 500 * ms,
            ttft_s=0.2,
        ),
        ModelCall(
            index=1,
            endpoint="chat/completions",
            model="m",
            request={"messages": [{"role": "user", "content": "add divide"}]},
            response_text="Done.",
            finish_reason="stop",
            usage=Usage(prompt_tokens=170, completion_tokens=5, cached_tokens=120),
            timings={"prompt_n": 50, "predicted_n": 5, "predicted_per_second": 12.0},
            stream=True,
            start_ns=t0 + 700 * ms,
            end_ns=t0 + 900 * ms,
            ttft_s=0.4,
        ),
    )
    return TrialResult(
        trial_id="abc123", task="sample", archetype="feature_implementation", model="m",
        quant="Q4_K_M", harness="pi", status=TrialStatus.failed, reason="checks failed: t",
        prompt="add divide", repository="repos/calc", start_ns=t0, end_ns=t0 + 1000 * ms,
        agent=AgentRun(
            harness="pi", version="1", exit_code=0, final_answer="Done.",
            steps=(AgentStep(tool="write", arguments={"path": "calc.py"}, output="ok"),
                   AgentStep(tool="rm_rf", arguments={}, output="no such tool", is_error=True)),
            duration_s=0.95,
        ),
        calls=calls,
        diff=DiffResult(base_commit="0" * 40, patch="diff --git a/calc.py b/calc.py\n+x\n",
                        files_changed=1, insertions=1, deletions=0, files=("calc.py",)),
        checks=(CheckResult(name="t", command="false", exit_code=1, expected_exit=0,
                            passed=False, duration_s=0.1, output="boom"),),
        engine=EngineInfo(kind="llama-server", version="b1", load_time_s=1.5,
                          flags=("llama-server", "--model", "m.gguf", "--threads", "2"),
                          peak_rss_bytes=300 * 2**20, counted_prompt_tokens=170,
                          counted_output_tokens=35),
        params={"model.name": "m", "quant": "Q4_K_M", "engine.threads": "2"},
    )  # fmt: skip


def test_metrics_are_computed_from_the_records() -> None:
    metrics = metrics_for(make_result())
    assert metrics["turns"] == 2
    assert metrics["tokens.input"] == 290
    assert metrics["tokens.output"] == 35
    assert metrics["tool_calls.total"] == 2
    assert metrics["tool_calls.not_offered"] == 1
    assert metrics["tool_calls.invalid_json"] == 1
    assert metrics["checks.pass_rate"] == 0
    assert metrics["speed.tg_tps"] == pytest.approx(11.0)
    assert metrics["ttft.p50_s"] == pytest.approx(0.3)
    assert metrics["engine.peak_rss_mb"] == pytest.approx(300)
    assert metrics["trial.wall_s"] == pytest.approx(1.0)


def test_trial_logs_one_run_with_one_trace(mlflow_experiment: str) -> None:
    import mlflow
    from mlflow import MlflowClient

    result = make_result()
    logged = log_trial(result)
    client = MlflowClient()
    run = client.get_run(logged.run_id)
    assert run.data.tags["status"] == "failed"
    assert run.data.tags["task"] == "sample"
    assert run.data.tags["archetype"] == "feature_implementation"
    assert run.data.params["model.name"] == "m"
    assert run.data.params["engine.threads"] == "2"
    assert run.data.metrics["tokens.output"] == 35
    artifacts = {a.path for a in client.list_artifacts(logged.run_id)}
    assert {"diff.patch", "result.json", "check-t.txt", "engine-command.txt"} <= artifacts
    assert run.data.params["engine.version"] == "b1"

    traces = mlflow.search_traces(
        locations=[mlflow_experiment], run_id=logged.run_id, return_type="list"
    )
    assert [t.info.trace_id for t in traces] == [logged.trace_id]
    trace = traces[0]
    assert trace.info.tags["status"] == "failed"
    spans = trace.data.spans
    roots = [s for s in spans if s.parent_id is None]
    assert len(roots) == 1 and roots[0].span_type == "AGENT"
    llm = sorted((s for s in spans if s.span_type == "LLM"), key=lambda s: s.start_time_ns)
    assert len(llm) == 2
    usage = [s.get_attribute("mlflow.chat.tokenUsage") for s in llm]
    assert sum(u["input_tokens"] for u in usage) == 290
    assert sum(u["output_tokens"] for u in usage) == 35
    assert llm[0].start_time_ns == result.calls[0].start_ns
    assert llm[0].end_time_ns == result.calls[0].end_ns
    assert llm[0].outputs["choices"][0]["message"]["tool_calls"][1]["function"]["name"] == "rm_rf"
    tools = [s for s in spans if s.span_type == "TOOL"]
    assert [t.name for t in tools] == ["write", "rm_rf"]
    # Untimed steps sit in the gap after the call that asked for them.
    assert tools[0].start_time_ns == result.calls[0].end_ns
    assert tools[1].status.status_code == "ERROR"
    assert trace.info.token_usage["input_tokens"] == 290
