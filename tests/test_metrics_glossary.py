"""Every metric a trial run carries has one entry in docs/METRICS.md."""

from __future__ import annotations

import re
from pathlib import Path

from benchlab.curate.baseline import baseline_metrics
from benchlab.metrics import metrics_for, token_weighted_rate
from benchlab.results import (
    AgentRun,
    AgentStep,
    CheckResult,
    DiffResult,
    EngineInfo,
    HostLoad,
    ModelCall,
    ToolCall,
    TrialResult,
    TrialStatus,
    Usage,
)

GLOSSARY = Path(__file__).resolve().parents[1] / "docs" / "METRICS.md"


def full_trial() -> TrialResult:
    """A trial with every part a metric is computed from."""

    def call(index: int, n: int, ms: float) -> ModelCall:
        return ModelCall(
            index=index,
            endpoint="chat/completions",
            model="m",
            request={"messages": []},
            response_text="Sorry, done.",
            tool_calls=(ToolCall(id=f"c{index}", name="bash", arguments='{"cmd": "ls"}'),),
            usage=Usage(prompt_tokens=n, completion_tokens=10),
            timings={
                "prompt_n": n,
                "prompt_ms": ms,
                "prompt_per_second": n / ms * 1000,
                "predicted_n": 10,
                "predicted_ms": 100.0,
                "predicted_per_second": 100.0,
            },
            start_ns=index * 10**9,
            end_ns=index * 10**9 + 5 * 10**8,
            ttft_s=0.2,
        )

    load = HostLoad(cpus=2, load_avg_mean=1.0, load_avg_max=2.0, other_engines_max=0, samples=2)
    return TrialResult(
        trial_id="t",
        task="sample",
        archetype="feature_implementation",
        model="m",
        status=TrialStatus.passed,
        start_ns=0,
        end_ns=3 * 10**9,
        calls=(call(0, 1000, 1000.0), call(1, 10, 100.0)),
        agent=AgentRun(
            harness="pi",
            version="1",
            exit_code=0,
            duration_s=2.0,
            steps=(AgentStep(tool="bash", arguments={"cmd": "ls"}, output="x"),),
            final_answer="Sorry, done.",
        ),
        checks=(
            CheckResult(
                name="tests",
                command="true",
                exit_code=0,
                expected_exit=0,
                passed=True,
                duration_s=0.1,
                output="",
            ),
        ),
        diff=DiffResult(
            base_commit="c", patch="", files=("a.py",), files_changed=1, insertions=1, deletions=0
        ),
        engine=EngineInfo(
            kind="llama-server",
            load_time_s=1.0,
            peak_rss_bytes=2**20,
            peak_vram_bytes=2**20,
            counted_prompt_tokens=1010,
            counted_output_tokens=20,
            probe={
                "probe.pp_tps": 1.0,
                "probe.pp_tps.std": 0.1,
                "probe.tg_tps": 1.0,
                "probe.tg_tps.std": 0.1,
                "probe.ttft_s": 1.0,
                "probe.ttft_s.std": 0.1,
            },
            probe_load=load,
        ),
        host_load=load,
    )


def _pattern(name: str) -> re.Pattern[str]:
    """A glossary name as a regex: ``<x>`` stands for one dotted part."""
    parts = re.split(r"(<[^>]+>)", name)
    body = "".join("[^.]+" if p.startswith("<") else re.escape(p) for p in parts)
    return re.compile(body + "$")


def documented() -> list[re.Pattern[str]]:
    """The metric names of the glossary's tables (first column)."""
    names = re.findall(r"^\| `([^`]+)` \|", GLOSSARY.read_text(), re.MULTILINE)
    assert len(names) > 20, "the glossary lists metrics in tables: | `name` | ..."
    return [_pattern(n) for n in names]


def test_every_metric_of_a_trial_run_is_in_the_glossary() -> None:
    result = full_trial()
    names = set(metrics_for(result)) | set(baseline_metrics(result))
    patterns = documented()
    missing = sorted(n for n in names if not any(p.match(n) for p in patterns))
    assert missing == [], f"not in {GLOSSARY.name}: {missing}"


def test_speed_has_one_definition_everywhere() -> None:
    """Token-weighted: 1010 prompt tokens over 1.1 s, not the mean of 1000 and 100 tok/s."""
    result = full_trial()
    trial, baseline = metrics_for(result), baseline_metrics(result)
    assert trial["speed.pp_tps"] == baseline["baseline.speed.pp_tps"]
    assert abs(trial["speed.pp_tps"] - 1010 / 1.1) < 1e-6
    assert token_weighted_rate(result.calls, "prompt_n", "prompt_ms", "x") == trial["speed.pp_tps"]
