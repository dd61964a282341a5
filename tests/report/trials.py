"""A small, known sweep of trials, logged to MLflow through benchlab's own trial logger.

Four configurations x three tasks x four repeats; which trials pass, their speed,
tokens and judge scores are fixed here so that tests can compute expectations by hand.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from benchlab.results import EngineInfo, HostLoad, ModelCall, TrialResult, TrialStatus, Usage

TASKS = {
    "sample": "feature_implementation",
    "docs": "repo_maintenance",
    "plan": "architectural_planning",
}
REPEATS = 4
SWEEP = "sweep-report-tests"


@dataclass(frozen=True)
class Spec:
    """One configuration of the known sweep."""

    model: str
    quant: str
    cell: str
    passes: dict[str, tuple[int, ...]]
    wall_s: float
    tg_tps: float | None
    params: dict[str, str]
    api: bool = False


SPECS = (
    Spec(
        "qwen",
        "Q8_0",
        "aaaa00000001",
        {"sample": (1, 1, 1, 0), "docs": (1, 1, 0, 0), "plan": (1, 0, 0, 0)},
        wall_s=60.0,
        tg_tps=10.0,
        params={"engine.batch_size": "2048", "engine.parallel": "1"},
    ),
    Spec(
        "qwen",
        "Q4_K_M",
        "bbbb00000001",
        {"sample": (1, 1, 0, 0), "docs": (1, 0, 0, 0), "plan": (0, 0, 0, 0)},
        wall_s=40.0,
        tg_tps=20.0,
        params={"engine.batch_size": "2048", "engine.parallel": "1"},
    ),
    Spec(
        "qwen",
        "Q4_K_M",
        "bbbb00000002",
        {"sample": (1, 0, 1, 0), "docs": (0, 1, 0, 0), "plan": (0, 0, 0, 0)},
        wall_s=40.0,
        tg_tps=25.0,
        params={"engine.batch_size": "512", "engine.parallel": "2"},
    ),
    Spec(
        "gpt-mini",
        "",
        "",
        {"sample": (1, 1, 1, 1), "docs": (1, 1, 1, 1), "plan": (1, 1, 1, 0)},
        wall_s=30.0,
        tg_tps=None,
        params={},
        api=True,
    ),
)
FAILURES = (TrialStatus.failed, TrialStatus.timeout, TrialStatus.limit)
"""Task outcomes that are not passes; errors (the machine failed) are tested apart."""
TOKENS_IN, TOKENS_OUT = 1000, 200


def correctness(passed: bool, repeat: int) -> float:
    """The known judge score of a trial: 4-5 when it passed, 1-2 when not."""
    return float((4 if passed else 1) + repeat % 2)


def trial(spec: Spec, task: str, repeat: int, start_ns: int) -> TrialResult:
    """The trial of ``spec`` on ``task`` at ``repeat``, as the simulate stage records one."""
    passed = bool(spec.passes[task][repeat])
    end_ns = start_ns + int(spec.wall_s * 1e9)
    timings = (
        {"predicted_per_second": spec.tg_tps, "prompt_per_second": 10 * spec.tg_tps}
        if spec.tg_tps
        else {}
    )
    call = ModelCall(
        index=0,
        endpoint="chat/completions",
        model=spec.model,
        request={"messages": []},
        response_text="done",
        usage=Usage(prompt_tokens=TOKENS_IN, completion_tokens=TOKENS_OUT),
        timings=timings,
        start_ns=start_ns,
        end_ns=end_ns,
    )
    engine = (
        EngineInfo(kind="api", version="openai")
        if spec.api
        else EngineInfo(
            kind="llama-server",
            version="b1",
            load_time_s=2.0,
            peak_rss_bytes=(900 if spec.quant == "Q8_0" else 500) * 2**20,
        )
    )
    # The second Q4_K_M cell's first repeats ran beside another engine.
    contended = spec.cell == "bbbb00000002" and repeat == 0
    load = HostLoad(
        cpus=2,
        load_avg_mean=1.0,
        load_avg_max=1.5,
        other_engines_max=1 if contended else 0,
        samples=3,
    )
    return TrialResult(
        trial_id=uuid.uuid4().hex,
        task=task,
        archetype=TASKS[task],
        model=spec.model,
        quant=spec.quant,
        cell=spec.cell,
        sweep=SWEEP,
        repeat=repeat,
        harness="pi",
        status=TrialStatus.passed if passed else FAILURES[repeat % len(FAILURES)],
        start_ns=start_ns,
        end_ns=end_ns,
        calls=(call,),
        engine=engine,
        host_load=None if spec.api else load,
        params={"model.name": spec.model, "quant": spec.quant, **spec.params},
    )
