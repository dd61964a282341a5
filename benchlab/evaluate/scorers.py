"""Each judged criterion, computed criterion and grader as an MLflow scorer.

A scorer returns one :class:`~mlflow.entities.Feedback` per record: the value with its
rationale, or, when the judge could not score, no value and an error, so that MLflow
never counts a broken judge as a low score. A record without the criterion gets no
feedback at all (its archetype's rubric does not have it).
"""

from __future__ import annotations

import time
from typing import Any

from mlflow.entities import AssessmentError, AssessmentSource, Feedback
from mlflow.genai.scorers import Scorer, scorer

from benchlab.evaluate.judges import JudgeKit, grader_version
from benchlab.evaluate.tally import Scored, Tally
from benchlab.scoring.computed import determinism
from benchlab.scoring.graders import GradedTrial, grade
from benchlab.scoring.rubrics import Criterion, CriterionKind
from benchlab.scoring.score import Score
from benchlab.scoring.verdict import judge_inputs, run_judge

COULD_NOT_SCORE = "COULD_NOT_SCORE"
"""The error code of an assessment whose criterion could not be scored."""


def feedback(score: Score, source_type: str) -> Feedback:
    """The assessment of one score: its value and rationale, or an error and no value."""
    source = AssessmentSource(
        source_type=source_type, source_id=f"{score.judge}@{score.judge_version}"
    )
    if score.could_not_score:
        error = AssessmentError(error_code=COULD_NOT_SCORE, error_message=score.reason or "")
        return Feedback(name=score.criterion, error=error, source=source)
    return Feedback(
        name=score.criterion, value=score.value, rationale=score.rationale, source=source
    )


def _judged(kit: JudgeKit, criterion: Criterion, record: dict[str, Any], tally: Tally) -> Score:
    judge = kit.judges.judges[criterion.judge_name]
    inputs = judge_inputs(record, criterion, kit.endpoint.max_input_chars)
    # A copy per call keeps this call's history (and so its token usage) apart from
    # the calls other threads make at the same time.
    lm = kit.lm.copy()
    with kit.gate:
        start = time.perf_counter()
        score = run_judge(judge, criterion.name, inputs, lm, kit.adapter)
        seconds = time.perf_counter() - start
    usage = lm.history[-1].get("usage") if lm.history else None
    tally.add_call(seconds, usage)
    return score


def criterion_scorer(name: str, kit: JudgeKit, tally: Tally) -> Scorer:
    """The scorer of the rubric criterion ``name`` (judged or computed from checks)."""

    def score_criterion(
        inputs: dict[str, Any], outputs: dict[str, Any], expectations: dict[str, Any]
    ) -> Feedback | None:
        record = {"inputs": inputs, "outputs": outputs, "expectations": expectations}
        criterion = next((c for c in kit.judges.criteria(record) if c.name == name), None)
        if criterion is None:
            return None
        if criterion.kind is CriterionKind.deterministic:
            score, source_type = determinism(record), "CODE"
        else:
            score, source_type = _judged(kit, criterion, record, tally), "LLM_JUDGE"
        source_id = f"{score.judge}@{score.judge_version}"
        tally.add(Scored(str(inputs.get("trial_id", "")), f"judge.{name}", score, source_id))
        return feedback(score, source_type)

    # No MLflow per-scorer timeout: waiting for the judge gate would count against it,
    # and benchlab's own judge timeout (BENCHLAB_JUDGE_TIMEOUT_S) bounds each call.
    return scorer(score_criterion, name=name, timeout=0)


def grader_scorer(key: str, kit: JudgeKit, tally: Tally) -> Scorer:
    """The scorer of the task grader ``key`` (``grader_<name>``): its 0-1 score."""

    def score_grader(inputs: dict[str, Any], outputs: dict[str, Any]) -> Feedback | None:
        record = {"inputs": inputs, "outputs": outputs}
        config = kit.judges.graders(record).get(key)
        if config is None:
            return None
        graded = grade(config, GradedTrial.from_record(record))
        score = Score(
            criterion=key,
            value=graded.score,
            rationale=("passed: " if graded.passed else "failed: ") + graded.detail,
            judge=f"grader:{config.kind}",
            judge_version=grader_version(config),
        )
        source_id = f"{score.judge}@{score.judge_version}"
        metric = "grader." + key.removeprefix("grader_")
        tally.add(Scored(str(inputs.get("trial_id", "")), metric, score, source_id))
        return feedback(score, "CODE")

    return scorer(score_grader, name=key, timeout=0)


def expected_metrics(kit: JudgeKit, record: dict[str, Any]) -> list[str]:
    """The trial metrics a record should get a score (or a could-not-score) for."""
    return [f"judge.{c.name}" for c in kit.judges.criteria(record)] + [
        "grader." + key.removeprefix("grader_") for key in kit.judges.graders(record)
    ]


def unreturned(kit: JudgeKit, records: list[dict[str, Any]], tally: Tally) -> int:
    """Count every criterion whose scorer returned nothing as could-not-score.

    A scorer that raised or was stopped (MLflow's own timeout, a crash in the judge
    adapter) never reaches the tally; without this, an evaluation would report fewer
    unscored criteria than there were.

    Returns:
        How many were added.
    """
    seen = {(s.trial_id, s.metric) for s in tally.scores}
    added = 0
    for record in records:
        trial_id = str(record["inputs"].get("trial_id", ""))
        for metric in expected_metrics(kit, record):
            if (trial_id, metric) in seen:
                continue
            criterion = metric.split(".", 1)[1]
            score = Score.unscored(
                criterion,
                "benchlab",
                "-",
                "the scorer returned no result (it failed or was stopped)",
            )
            tally.add(Scored(trial_id, metric, score, "benchlab@-"))
            added += 1
    return added


def build_scorers(kit: JudgeKit, records: list[dict[str, Any]], tally: Tally) -> list[Scorer]:
    """One scorer per criterion and grader that any of the records has."""
    criteria: dict[str, None] = {}
    graders: dict[str, None] = {}
    for record in records:
        criteria.update(dict.fromkeys(c.name for c in kit.judges.criteria(record)))
        graders.update(dict.fromkeys(kit.judges.graders(record)))
    return [criterion_scorer(n, kit, tally) for n in criteria] + [
        grader_scorer(k, kit, tally) for k in graders
    ]
