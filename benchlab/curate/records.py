"""One evaluation record per trial, built from its full ``result.json``.

A record has MLflow's dataset shape: ``inputs`` (what the agent was given), ``outputs``
(what it did, trimmed, with its checks and baseline metrics), ``expectations`` (the
rubric the judges apply) and ``tags`` (where it ran). ``inputs`` carries the trial id:
MLflow keys dataset records by their inputs, and two repeats of one task share every
other input, so the trial id is what keeps them apart (and what makes an upsert of
the same trial replace its record rather than add one).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlab.config.load import load_task
from benchlab.config.tasks import Guideline
from benchlab.curate.baseline import baseline_metrics
from benchlab.curate.options import CurateOptions
from benchlab.curate.transcript import render
from benchlab.curate.trim import trim
from benchlab.results import TrialResult

Record = dict[str, Any]
"""A dataset record: ``inputs``, ``outputs``, ``expectations``, ``tags``, ``source``."""


@dataclass(frozen=True)
class TrialRef:
    """Where a trial is in MLflow: its run and its trace."""

    run_id: str
    trace_id: str = ""


class Guidelines:
    """Each task's guidelines, read once per task from the tasks directory."""

    def __init__(self, tasks_dir: Path) -> None:
        self._dir = tasks_dir
        self._found: dict[str, tuple[Guideline, ...]] = {}

    def __call__(self, task: str) -> list[dict[str, str]]:
        """The task's guidelines as ``{name, description}``; none when there is no task
        file of that name (a task renamed or removed since the trial ran)."""
        if task not in self._found:
            path = self._dir / f"{task}.yaml"
            safe = "/" not in task and not task.startswith(".")
            self._found[task] = load_task(path).guidelines if safe and path.is_file() else ()
        return [{"name": g.name, "description": g.description} for g in self._found[task]]


def _base_commit(result: TrialResult) -> str:
    if result.diff is not None:
        return result.diff.base_commit
    return result.params.get("task.base_commit", "")


def build_record(
    result: TrialResult,
    ref: TrialRef,
    guidelines: list[dict[str, str]],
    options: CurateOptions,
    metrics: dict[str, float] | None = None,
) -> Record:
    """The dataset record of one trial.

    Args:
        result: The trial's full record (its run's ``result.json``).
        ref: The trial's run and trace.
        guidelines: The task's rubric criteria.
        options: Trimming budgets and the loop rule.
        metrics: Its baseline metrics, when already computed.
    """
    diff = trim(result.diff.patch if result.diff else "", options.max_diff_chars)
    transcript = trim(render(result), options.max_transcript_chars)
    checks = [
        {
            "name": c.name,
            "passed": c.passed,
            "exit_code": c.exit_code,
            "tests_passed": c.tests_passed,
            "tests_failed": c.tests_failed,
        }
        for c in result.checks
    ]
    tags = {
        "trial_id": result.trial_id,
        "run_id": ref.run_id,
        "trace_id": ref.trace_id,
        "task": result.task,
        "model": result.model,
        "quant": result.quant,
        "cell": result.cell,
        "sweep": result.sweep,
        "status": result.status.value,
        "harness": result.harness,
    }
    return {
        "inputs": {
            "trial_id": result.trial_id,
            "task": result.task,
            "archetype": result.archetype,
            "prompt": result.prompt,
            "repository": result.repository,
            "commit": _base_commit(result),
        },
        "outputs": {
            "final_answer": result.agent.final_answer if result.agent else "",
            "diff": diff.text,
            "diff_truncated": diff.truncated,
            "transcript": transcript.text,
            "transcript_truncated": transcript.truncated,
            "full_record": "result.json and diff.patch on the trial's MLflow run",
            "checks": checks,
            "metrics": metrics
            if metrics is not None
            else baseline_metrics(result, options.loop_repeats),
            "status": result.status.value,
            "reason": result.reason,
        },
        "expectations": {"guidelines": guidelines, "rubric": result.archetype},
        "tags": tags,
        "source": {"source_type": "TRACE", "source_data": {"trace_id": ref.trace_id}},
    }
