"""The report's statistics against values worked out by hand, and their invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchlab.report.stats import (
    bootstrap_mean_interval,
    cohens_h,
    effect_label,
    mcnemar_exact,
    paired_cohens_d,
    paired_permutation_p,
    pass_at_k,
    pass_hat_k,
    wilson_interval,
)

Z95 = 1.959963984540054


def test_wilson_interval_of_8_of_10_matches_the_formula_by_hand() -> None:
    # center = (0.8 + z^2/20) / (1 + z^2/10); half = z/(1 + z^2/10) * sqrt(0.016 + z^2/400)
    z2 = Z95**2
    center = (0.8 + z2 / 20) / (1 + z2 / 10)
    half = Z95 / (1 + z2 / 10) * math.sqrt(0.8 * 0.2 / 10 + z2 / 400)
    low, high = wilson_interval(8, 10)
    assert (low, high) == pytest.approx((center - half, center + half), abs=1e-12)
    assert (low, high) == pytest.approx((0.4902, 0.9433), abs=1e-4)


def test_wilson_interval_edges() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(0, 10)
    assert low == pytest.approx(0.0, abs=1e-12) and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson_interval(10, 10)
    assert high == pytest.approx(1.0, abs=1e-12) and low == pytest.approx(0.7225, abs=1e-4)
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_wilson_interval_agrees_with_scipy_when_present() -> None:
    stats = pytest.importorskip("scipy.stats", reason="scipy is not installed")
    for passes, n, level in ((8, 10, 0.95), (3, 17, 0.9), (1, 2, 0.99)):
        ci = stats.binomtest(passes, n).proportion_ci(confidence_level=level, method="wilson")
        assert wilson_interval(passes, n, level) == pytest.approx((ci.low, ci.high), abs=1e-9)


def test_pass_at_k_and_pass_hat_k_from_known_counts() -> None:
    # n=5 samples, c=2 passed: pass@2 = 1 - C(3,2)/C(5,2) = 1 - 3/10; pass^2 = C(2,2)/C(5,2).
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7)
    assert pass_hat_k(5, 2, 2) == pytest.approx(0.1)
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4) == pass_hat_k(5, 2, 1)
    assert pass_at_k(5, 2, 4) == 1.0  # C(3,4) = 0: four draws always include a pass
    assert pass_hat_k(5, 2, 3) == 0.0
    assert pass_at_k(4, 0, 4) == 0.0 and pass_hat_k(4, 4, 4) == 1.0
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 4)


@given(st.integers(1, 30).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))))
def test_pass_k_bounds(nc: tuple[int, int]) -> None:
    n, c = nc
    at = [pass_at_k(n, c, k) for k in range(1, n + 1)]
    hat = [pass_hat_k(n, c, k) for k in range(1, n + 1)]
    assert at == sorted(at) and hat == sorted(hat, reverse=True)
    assert all(h <= a + 1e-12 for h, a in zip(hat, at, strict=True))
    assert at[0] == pytest.approx(c / n) == hat[0]


def test_mcnemar_exact_on_known_tables() -> None:
    # b=1, c=9: 2 * (C(10,0) + C(10,1)) / 2^10 = 22/1024
    assert mcnemar_exact(1, 9) == pytest.approx(0.021484375, abs=1e-12)
    assert mcnemar_exact(9, 1) == mcnemar_exact(1, 9)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0
    assert mcnemar_exact(0, 8) == pytest.approx(2 / 256)


def test_mcnemar_agrees_with_scipy_binomial_test_when_present() -> None:
    stats = pytest.importorskip("scipy.stats", reason="scipy is not installed")
    for b, c in ((1, 9), (3, 12), (7, 4), (0, 6)):
        assert mcnemar_exact(b, c) == pytest.approx(stats.binomtest(b, b + c).pvalue, abs=1e-12)


def test_bootstrap_interval_is_seeded_and_brackets_the_mean() -> None:
    values = [1.0, 2.0, 2.0, 3.0, 5.0, 4.0, 1.0]
    first = bootstrap_mean_interval(values, seed=7)
    assert first == bootstrap_mean_interval(values, seed=7)
    assert first != bootstrap_mean_interval(values, seed=8)
    assert first[0] < sum(values) / len(values) < first[1]
    assert bootstrap_mean_interval([3.0, 3.0]) == (3.0, 3.0)
    assert all(math.isnan(v) for v in bootstrap_mean_interval([]))


def test_paired_permutation_p_is_exact_for_small_samples() -> None:
    # All 2^3 sign patterns of (1, 1, 1): only +++ and --- reach |sum| = 3.
    assert paired_permutation_p([1, 1, 1]) == pytest.approx(2 / 8)
    assert paired_permutation_p([1, 2, 3, 4, 5]) == pytest.approx(2 / 32)
    # (1, -1): the sums 0, +-2; |sum| >= 0 always.
    assert paired_permutation_p([1, -1]) == 1.0
    assert paired_permutation_p([0, 0]) == 1.0


def test_paired_permutation_p_monte_carlo_is_seeded_and_small_for_a_clear_shift() -> None:
    shifted = [1.0 + 0.1 * i for i in range(30)]
    p = paired_permutation_p(shifted, seed=3)
    assert p == paired_permutation_p(shifted, seed=3)
    assert 0 < p < 0.001
    noise = [(-1) ** i * (1 + i % 3) for i in range(30)]
    assert paired_permutation_p(noise) > 0.5


def test_effect_sizes() -> None:
    assert cohens_h(0.8, 0.5) == pytest.approx(2 * math.asin(math.sqrt(0.8)) - math.pi / 2)
    assert cohens_h(0.5, 0.5) == 0.0
    assert paired_cohens_d([1.0, 2.0, 3.0]) == pytest.approx(2.0)  # mean 2, sd 1
    assert paired_cohens_d([2.0, 2.0]) == math.inf
    assert math.isnan(paired_cohens_d([1.0]))
    labels = [effect_label(x) for x in (0.1, -0.3, 0.6, 1.2, math.nan)]
    assert labels == ["negligible", "small", "medium", "large", "unknown"]
