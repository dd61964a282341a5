"""Agreement measures, kappa checked against a hand-computed value."""

from __future__ import annotations

import pytest

from benchlab.scoring.agreement import (
    agreement,
    confusion_matrix,
    kappa_from_matrix,
    quadratic_weighted_kappa,
)


def test_kappa_of_a_known_matrix_equals_the_hand_computed_value() -> None:
    # rows 4,4,2 and columns 4,4,2 of 10 items; weights 0, 1/4, 1 by distance.
    # observed weighted disagreement: 1/4 * (1+1+1+1) = 1.0
    # expected: 1/4 * (1.6+1.6+0.8+0.8) + 1 * (0.8+0.8) = 2.8
    # kappa = 1 - 1.0 / 2.8 = 9/14
    matrix = [[3, 1, 0], [1, 2, 1], [0, 1, 1]]
    assert kappa_from_matrix(matrix) == pytest.approx(9 / 14, abs=1e-12)


def test_kappa_from_ratings_builds_the_same_matrix() -> None:
    a = [1, 1, 1, 1, 2, 2, 2, 2, 3, 3]
    b = [1, 1, 1, 2, 1, 2, 2, 3, 2, 3]
    assert confusion_matrix(a, b, (1, 2, 3)) == [[3, 1, 0], [1, 2, 1], [0, 1, 1]]
    assert quadratic_weighted_kappa(a, b, (1, 2, 3)) == pytest.approx(9 / 14, abs=1e-12)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], 1.0),
        ([1, 5, 1, 5], [5, 1, 5, 1], -1.0),
        ([3, 3, 3], [3, 3, 3], 1.0),
    ],
)
def test_kappa_bounds(a: list[int], b: list[int], expected: float) -> None:
    assert quadratic_weighted_kappa(a, b) == pytest.approx(expected)


def test_agreement_leaves_unscored_items_out_of_the_rates() -> None:
    result = agreement([5, 4, 2, 1], [5, 3, None, 4])
    assert (result.examples, result.unscored) == (4, 1)
    assert result.exact == pytest.approx(1 / 3)
    assert result.within_one == pytest.approx(2 / 3)
    assert result.kappa is not None and result.kappa < 1


def test_agreement_of_yes_no_labels() -> None:
    result = agreement([True, False, True, False], [True, False, False, False])
    assert result.exact == pytest.approx(0.75)
    assert result.within_one == pytest.approx(0.75)


def test_agreement_with_nothing_scored_has_no_rates() -> None:
    result = agreement([1, 2], [None, None])
    assert (result.exact, result.within_one, result.kappa, result.unscored) == (None, None, None, 2)
