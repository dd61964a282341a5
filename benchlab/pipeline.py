"""The pipeline's parameters, its result, and how one stage's outcome reaches the next.

``flows/pipeline.py`` chains the stages; this module says what each one is given.
Every stage is idempotent, so running the pipeline again resumes it: a finished
download, sweep, curation or evaluation is found and not redone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import Field

from benchlab.config.base import Frozen
from benchlab.config.models import LocalModel
from benchlab.config.simulate import SimulateRequest
from benchlab.curate.filters import CurateFilters
from benchlab.curate.options import CurateOptions
from benchlab.curate.result import CurateResult
from benchlab.errors import BenchlabError
from benchlab.evaluate.request import EvaluateRequest, EvaluateResult, JudgeOptions
from benchlab.report.stage import ReportOutcome, ReportRequest
from benchlab.settings import Settings

if TYPE_CHECKING:
    from benchlab.download.report import DownloadReport
    from benchlab.simulate.sweep import SweepSummary

T = TypeVar("T")


class PipelineRequest(Frozen):
    """A sweep, then its curation into a dataset version, that version scored by the
    judges, and the leaderboard of the sweep."""

    simulate: SimulateRequest = SimulateRequest()
    """Which tasks, models, agents and engine settings, how many repeats, and where."""

    download: bool = True
    """Put the sweep's local models into the bucket first (files already there are
    skipped); off: the models must be in the bucket already."""

    curate: CurateOptions = CurateOptions()
    """Dataset name, trimming budgets and parquet export of the sweep's curation."""

    evaluate: bool = True
    """Score the curated version with the archetypes' and the baseline judges; off:
    the leaderboard has no judge scores."""

    judges: JudgeOptions = JudgeOptions()
    """The judge endpoint and model, criteria, parallel calls."""

    level: float = Field(default=0.95, gt=0.5, lt=1)
    """Confidence level of the leaderboard's intervals."""


@dataclass(frozen=True)
class PipelineResult:
    """What each stage produced (None for a stage that was not asked for)."""

    download: DownloadReport | None
    sweep: SweepSummary
    dataset: CurateResult
    evaluation: EvaluateResult | None
    report: ReportOutcome


class StageFailed(BenchlabError):
    """A stage of the pipeline did not complete; the stages after it did not run."""


def run_stage(name: str, stage: Callable[..., T], *args: Any) -> T:
    """Run one stage's flow as a subflow and return its result.

    Raises:
        StageFailed: The stage failed, crashed or was cancelled; the message names the
            stage and carries the stage's own.
    """
    state: Any = stage(*args, return_state=True)
    if not state.is_completed():
        raise StageFailed(f"stage {name} {str(state.name).lower()}: {state.message}")
    result: T = state.result()
    return result


def local_models(settings: Settings, request: PipelineRequest) -> list[str]:
    """The local models of the sweep, which the download stage puts into the bucket.

    Raises:
        ConfigError, UsageError: The configuration or the request is invalid; nothing
            has run.
    """
    from benchlab.simulate.plan import plan_simulation

    plan = plan_simulation(settings, request.simulate)
    return sorted({t.model.name for t in plan.targets if isinstance(t.model, LocalModel)})


def curate_filters(sweep: SweepSummary) -> CurateFilters:
    """The sweep's trials, all of them (a resumed sweep's earlier trials included)."""
    return CurateFilters(sweeps=(sweep.sweep_id,))


def evaluate_request(request: PipelineRequest, dataset: CurateResult) -> EvaluateRequest:
    """Exactly the dataset version the curation made, with the request's judges."""
    return EvaluateRequest(
        dataset=f"{dataset.dataset}@{dataset.version}", **request.judges.model_dump()
    )


def report_request(request: PipelineRequest, sweep: SweepSummary) -> ReportRequest:
    """The leaderboard of the sweep."""
    return ReportRequest(sweep=sweep.sweep_id, level=request.level)
