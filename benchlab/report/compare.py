"""Configuration A against B on the same tasks, paired per (task, repeat)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from benchlab.errors import UsageError
from benchlab.report.collect import judge_columns, task_outcomes
from benchlab.report.stats import (
    bootstrap_mean_interval,
    cohens_h,
    effect_label,
    mcnemar_exact,
    paired_cohens_d,
    paired_permutation_p,
)

PAIR_KEYS = ["task", "repeat"]
"""What makes a trial of A and a trial of B a pair."""


@dataclass(frozen=True)
class ScoreDifference:
    """A judge criterion's paired difference, A minus B."""

    criterion: str
    pairs: int
    mean_a: float
    mean_b: float
    difference: float
    low: float
    high: float
    p_value: float
    effect: float

    def sentence(self, alpha: float) -> str:
        """The difference in words, with whether it is real at ``alpha``."""
        verdict = (
            f"real at alpha {alpha:g}" if self.p_value < alpha else f"not real at alpha {alpha:g}"
        )
        return (
            f"{self.criterion}: mean {self.mean_a:.2f} vs {self.mean_b:.2f} over {self.pairs} "
            f"pairs, difference {self.difference:+.2f} [{self.low:+.2f}, {self.high:+.2f}], "
            f"paired permutation p = {self.p_value:.3g}, Cohen's d {self.effect:.2f} "
            f"({effect_label(self.effect)}): {verdict}."
        )


@dataclass(frozen=True)
class Comparison:
    """Pass rates and judge scores of A and B on their paired trials."""

    a: str
    b: str
    alpha: float
    pairs: int
    tasks: int
    a_passes: int
    b_passes: int
    only_a: int
    only_b: int
    p_value: float
    effect: float
    scores: tuple[ScoreDifference, ...]

    @property
    def difference(self) -> float:
        """Pass rate of A minus pass rate of B."""
        return (self.a_passes - self.b_passes) / self.pairs

    @property
    def significant(self) -> bool:
        """Whether the pass rates differ at the chosen level."""
        return self.p_value < self.alpha

    def sentence(self) -> str:
        """The pass-rate difference in plain words, and whether it is real."""
        n = self.pairs
        facts = (
            f"On {n} paired trials ({self.tasks} tasks), {self.a} passed {self.a_passes}/{n} "
            f"({self.a_passes / n:.0%}) and {self.b} {self.b_passes}/{n} ({self.b_passes / n:.0%}):"
            f" a difference of {100 * self.difference:+.0f} points (Cohen's h {self.effect:.2f}, "
            f"{effect_label(self.effect)}). Exact McNemar test on the {self.only_a + self.only_b} "
            f"pairs where only one passed ({self.only_a} only {self.a}, {self.only_b} only "
            f"{self.b}): p = {self.p_value:.3g}."
        )
        if self.significant:
            better, worse = (self.a, self.b) if self.difference > 0 else (self.b, self.a)
            return (
                f"{facts} The difference is real at alpha {self.alpha:g}: {better} passes more "
                f"often than {worse}."
            )
        return (
            f"{facts} At alpha {self.alpha:g} the difference is not real: it could be chance "
            "(more repeats would tell)."
        )


def compare(
    trials: pd.DataFrame, a: str, b: str, alpha: float = 0.05, level: float = 0.95, seed: int = 0
) -> Comparison:
    """Compare configuration ``a`` with ``b`` (labels from the ``config`` column).

    Raises:
        UsageError: When they share no (task, repeat) pair.
    """
    if not 0 < alpha < 1:
        raise UsageError(f"alpha must be between 0 and 1, got {alpha}")
    columns = ["passed", *judge_columns(trials)]
    # Only task outcomes pair: a trial the machine failed to run says nothing of a or b.
    trials = task_outcomes(trials)
    left = trials.loc[trials["config"] == a, PAIR_KEYS + columns]
    right = trials.loc[trials["config"] == b, PAIR_KEYS + columns]
    paired = left.merge(right, on=PAIR_KEYS, suffixes=(".a", ".b"))
    if paired.empty:
        raise UsageError(f"{a} and {b} share no trial of the same task and repeat")
    passed_a, passed_b = paired["passed.a"].astype(bool), paired["passed.b"].astype(bool)
    only_a, only_b = int((passed_a & ~passed_b).sum()), int((~passed_a & passed_b).sum())
    n = len(paired)
    return Comparison(
        a=a,
        b=b,
        alpha=alpha,
        pairs=n,
        tasks=paired["task"].nunique(),
        a_passes=int(passed_a.sum()),
        b_passes=int(passed_b.sum()),
        only_a=only_a,
        only_b=only_b,
        p_value=mcnemar_exact(only_a, only_b),
        effect=cohens_h(passed_a.mean(), passed_b.mean()),
        scores=tuple(s for j in columns[1:] if (s := _score(paired, j, level, seed)) is not None),
    )


def _score(paired: pd.DataFrame, judge: str, level: float, seed: int) -> ScoreDifference | None:
    both = paired[[f"{judge}.a", f"{judge}.b"]].dropna()
    if both.empty:
        return None
    differences = (both[f"{judge}.a"] - both[f"{judge}.b"]).tolist()
    low, high = bootstrap_mean_interval(differences, level, seed=seed)
    return ScoreDifference(
        criterion=judge.removeprefix("judge."),
        pairs=len(both),
        mean_a=float(both[f"{judge}.a"].mean()),
        mean_b=float(both[f"{judge}.b"].mean()),
        difference=math.fsum(differences) / len(differences),
        low=low,
        high=high,
        p_value=paired_permutation_p(differences, seed=seed),
        effect=paired_cohens_d(differences),
    )
