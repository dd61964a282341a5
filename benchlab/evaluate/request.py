"""What a user asks to evaluate, and what an evaluation produced."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from benchlab.config.base import Frozen

CRITERION = r"^[a-z][a-z0-9_]*$"


class JudgeOptions(Frozen):
    """How to reach the judge model and what to score: an evaluation less its dataset
    (the pipeline names the dataset its curation made)."""

    base_url: str | None = None
    """OpenAI-compatible judge endpoint; default the configured one, else a local
    llama-server with the first local model of ``models.yaml``."""

    model: str | None = None
    """Model name sent to the judge endpoint; default the configured one."""

    only: tuple[Annotated[str, Field(pattern=CRITERION)], ...] = ()
    """Score only these criteria (judges, computed criteria, ``grader_<name>``); empty
    means every criterion of each record."""

    parallel: int = Field(default=2, ge=1, le=64)
    """Judge calls in flight at once."""

    judges_dir: Path | None = None
    """Directory with ``rubrics/`` and ``compiled/``; default the shipped judges."""

    force: bool = False
    """Score again even when this version was evaluated by the same judges before."""


class EvaluateRequest(JudgeOptions):
    """A dataset version to score, and how to reach the judge model."""

    dataset: Annotated[str, Field(min_length=1, max_length=240)]
    """``NAME`` (its latest version) or ``NAME@VERSION``."""


class CriterionSummary(Frozen):
    """One criterion over the dataset version."""

    mean: float | None
    """Mean value over the scored records (refusal: the share that refused)."""

    scored: int
    """Records that got a value."""

    unscored: int
    """Records the judge could not score (no value, an error on the assessment)."""


class EvaluateResult(Frozen):
    """The evaluation run and what it found."""

    dataset: str
    """``NAME@VERSION`` of the version scored."""

    run_id: str
    """The evaluation run (tag ``kind=evaluation``)."""

    records: int
    """Records scored."""

    criteria: dict[str, CriterionSummary]
    """Per criterion: mean, scored and unscored counts."""

    by_config: dict[str, dict[str, float]] = Field(default_factory=dict)
    """Mean per criterion for each ``model/quant/cell``."""

    judges: dict[str, str] = Field(default_factory=dict)
    """The judges and graders used, with their versions."""

    prompt_tokens: int | None = None
    """Judge prompt tokens in all; None when the endpoint reported no usage."""

    completion_tokens: int | None = None
    """Judge completion tokens in all; None when the endpoint reported no usage."""

    judge_calls: int = 0
    """Judge model calls made."""

    judge_time_s: float = 0.0
    """Wall time of the judge calls, summed over calls."""

    wall_s: float = 0.0
    """Wall time of the scoring as a whole."""

    reused: bool = False
    """This version was evaluated by the same judges before: nothing was scored."""
