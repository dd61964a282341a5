"""Agreement between human labels and a judge: exact, within one, quadratic-weighted kappa."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SCALE = (1, 2, 3, 4, 5)
"""The categories of a 1-5 judge."""


def confusion_matrix(
    rater_a: Sequence[int], rater_b: Sequence[int], categories: Sequence[int]
) -> list[list[int]]:
    """Counts of (a's category, b's category) pairs, rows for ``rater_a``."""
    if len(rater_a) != len(rater_b):
        raise ValueError("the two raters must rate the same items")
    index = {c: i for i, c in enumerate(categories)}
    matrix = [[0] * len(categories) for _ in categories]
    for a, b in zip(rater_a, rater_b, strict=True):
        matrix[index[a]][index[b]] += 1
    return matrix


def kappa_from_matrix(matrix: Sequence[Sequence[int]]) -> float:
    """Cohen's quadratic-weighted kappa of a square confusion matrix.

    ``1 - sum(w * observed) / sum(w * expected)`` with weights
    ``w[i][j] = (i - j)^2 / (k - 1)^2`` and ``expected`` the outer product of the
    marginals over the total. When chance predicts no disagreement at all (every
    rating in one category) kappa is 1.0 if the raters agree, else 0.0.
    """
    k = len(matrix)
    if k < 2 or any(len(row) != k for row in matrix):
        raise ValueError("kappa needs a square matrix of at least two categories")
    total = sum(sum(row) for row in matrix)
    if total == 0:
        raise ValueError("kappa needs at least one rated item")
    rows = [sum(row) for row in matrix]
    cols = [sum(matrix[i][j] for i in range(k)) for j in range(k)]
    observed = expected = 0.0
    for i in range(k):
        for j in range(k):
            weight = (i - j) ** 2 / (k - 1) ** 2
            observed += weight * matrix[i][j]
            expected += weight * rows[i] * cols[j] / total
    if expected == 0:
        return 1.0 if observed == 0 else 0.0
    return 1.0 - observed / expected


def quadratic_weighted_kappa(
    rater_a: Sequence[int], rater_b: Sequence[int], categories: Sequence[int] = SCALE
) -> float:
    """Cohen's quadratic-weighted kappa between two raters over ``categories``."""
    return kappa_from_matrix(confusion_matrix(rater_a, rater_b, categories))


@dataclass(frozen=True)
class Agreement:
    """How well a judge agrees with the human labels on a set of examples."""

    examples: int
    """Examples compared."""

    unscored: int
    """Examples the judge could not score (left out of the rates below)."""

    exact: float | None
    """Share scored exactly as the human did."""

    within_one: float | None
    """Share scored at most one point away (for yes/no: same as exact)."""

    kappa: float | None
    """Quadratic-weighted kappa over the scored examples."""


def agreement(human: Sequence[bool | int], judge: Sequence[bool | int | None]) -> Agreement:
    """Agreement of ``judge`` with ``human`` over paired labels; None is an unscored item.

    Labels are all 1-5 or all yes/no; yes/no is scored as categories (0, 1).
    """
    pairs = [(int(h), int(j)) for h, j in zip(human, judge, strict=True) if j is not None]
    unscored = len(human) - len(pairs)
    if not pairs:
        return Agreement(len(human), unscored, None, None, None)
    boolean = any(isinstance(h, bool) for h in human)
    categories: Sequence[int] = (0, 1) if boolean else SCALE
    a = [h for h, _ in pairs]
    b = [j for _, j in pairs]
    return Agreement(
        examples=len(human),
        unscored=unscored,
        exact=sum(x == y for x, y in pairs) / len(pairs),
        within_one=sum(abs(x - y) <= (0 if boolean else 1) for x, y in pairs) / len(pairs),
        kappa=quadratic_weighted_kappa(a, b, categories),
    )
