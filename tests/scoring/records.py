"""Curated records as the curate stage builds them, for the scoring tests."""

from __future__ import annotations

from typing import Any


def record(
    *,
    archetype: str = "feature_implementation",
    prompt: str = "Add a subtract(a, b) function to calc/ops.py with a unit test.",
    final_answer: str = "Added subtract() and a test.",
    diff: str = "",
    transcript: str = "",
    checks: list[dict[str, Any]] | None = None,
    guidelines: list[dict[str, str]] | None = None,
    cell: str = "cell0",
    task: str = "sample",
    trial: str = "t1",
) -> dict[str, Any]:
    """One curated record."""
    return {
        "inputs": {
            "task": task,
            "archetype": archetype,
            "prompt": prompt,
            "repository": "repos/calc",
            "commit": "0" * 40,
        },
        "outputs": {
            "final_answer": final_answer,
            "diff": diff,
            "transcript": transcript,
            "checks": checks if checks is not None else [],
            "metrics": {},
            "status": "passed",
        },
        "expectations": {"guidelines": guidelines or [], "rubric": archetype},
        "tags": {
            "model": "m",
            "quant": "Q4_K_M",
            "cell": cell,
            "sweep": "s",
            "status": "passed",
            "trace_id": f"tr-{trial}",
            "trial_id": trial,
        },
    }
