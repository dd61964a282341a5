"""Running a judge over labelled examples, and the metric training optimizes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dspy

from benchlab.scoring.examples import LabelledExample, as_dspy
from benchlab.scoring.programs import LoadedJudge
from benchlab.scoring.score import Score
from benchlab.scoring.verdict import run_judge

INPUT_NAMES = ("task_prompt", "criterion", "diff", "transcript", "final_answer")

METRIC_NAME = "agreement: 1 exact, 0.5 within one point, else 0"
"""What :func:`judge_metric` measures, as recorded with a compiled judge."""


def points(label: bool | int, value: object) -> float:
    """Agreement of one verdict with the human label: 1 exact, 0.5 within one, else 0."""
    if isinstance(label, bool):
        return float(value is label)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    distance = abs(value - label)
    return 1.0 if distance == 0 else 0.5 if distance == 1 else 0.0


def judge_metric(example: Any, prediction: Any, trace: Any = None) -> float:
    """:func:`points` for a DSPy prediction against a DSPy example (optimizers call it)."""
    if "refused" in example:
        return points(bool(example.refused), getattr(prediction, "refused", None))
    return points(int(example.score), getattr(prediction, "score", None))


def feedback_metric(
    gold: Any, pred: Any, trace: Any = None, pred_name: Any = None, pred_trace: Any = None
) -> dspy.Prediction:
    """:func:`judge_metric` with the human's verdict as feedback, for GEPA's reflection."""
    label = gold.refused if "refused" in gold else gold.score
    return dspy.Prediction(
        score=judge_metric(gold, pred, trace),
        feedback=f"The human label is {label}: {gold.rationale}",
    )


def judge_examples(
    judge: LoadedJudge,
    examples: list[LabelledExample],
    lm: dspy.LM,
    adapter: dspy.Adapter,
    parallelism: int,
) -> list[Score]:
    """The judge's score for each example, in order (could-not-score included)."""

    def one(example: LabelledExample) -> Score:
        inputs = {name: str(getattr(as_dspy(example), name)) for name in INPUT_NAMES}
        return run_judge(judge, example.judge, inputs, lm, adapter)

    with ThreadPoolExecutor(max_workers=parallelism) as pool:
        return list(pool.map(one, examples))


def mean_metric(examples: list[LabelledExample], scores: list[Score]) -> float:
    """:func:`points` averaged over the examples; an unscored example counts 0."""
    if not examples:
        return 0.0
    pairs = zip(examples, scores, strict=True)
    return sum(points(e.label, s.value) for e, s in pairs) / len(examples)
