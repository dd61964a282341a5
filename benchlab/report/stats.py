"""The statistics of the report: intervals, pass@k, paired tests and effect sizes.

Pure functions on plain numbers; resampling is seeded so that a report is the same
every time it is built from the same runs.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from itertools import product
from statistics import NormalDist

EXACT_PERMUTATION_MAX_N = 12
"""Up to this many non-zero pairs the sign-flip test enumerates every flip (4096)."""


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"confidence level must be in (0, 1), got {level}")
    return NormalDist().inv_cdf(0.5 + level / 2)


def wilson_interval(passes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a proportion.

    Args:
        passes: Successes.
        n: Trials; 0 gives the uninformative interval (0, 1).
        level: Confidence level.

    Returns:
        (low, high), within [0, 1].
    """
    if not 0 <= passes <= n:
        raise ValueError(f"need 0 <= passes <= n, got {passes}/{n}")
    if n == 0:
        return 0.0, 1.0
    z = _z(level)
    p = passes / n
    denominator = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, center - half), min(1.0, center + half)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k: the chance that at least one of k of the n samples passed.

    Args:
        n: Samples (repeats) of one task.
        c: Passed samples among them.
        k: Draws, 1 <= k <= n.
    """
    _check_k(n, c, k)
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """pass^k: the chance that all of k of the n samples passed (consistency)."""
    _check_k(n, c, k)
    return math.comb(c, k) / math.comb(n, k)


def _check_k(n: int, c: int, k: int) -> None:
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: a binomial test of the discordant pairs.

    Args:
        b: Pairs where A passed and B failed.
        c: Pairs where A failed and B passed.
    """
    if b < 0 or c < 0:
        raise ValueError("discordant counts cannot be negative")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


def bootstrap_mean_interval(
    values: Sequence[float], level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of a mean, seeded (same input, same interval).

    Returns:
        (low, high); (nan, nan) without values, the value itself for one value.
    """
    if not values:
        return math.nan, math.nan
    if len(values) == 1 or min(values) == max(values):
        return float(values[0]), float(values[0])
    rng = random.Random(seed)
    n = len(values)
    means = sorted(math.fsum(rng.choices(values, k=n)) / n for _ in range(resamples))
    tail = (1 - level) / 2
    return _quantile(means, tail), _quantile(means, 1 - tail)


def _quantile(ordered: Sequence[float], q: float) -> float:
    # Linear interpolation between order statistics, as numpy's default does.
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def paired_permutation_p(
    differences: Sequence[float], resamples: int = 10000, seed: int = 0
) -> float:
    """Two-sided sign-flip permutation p-value for a zero mean of paired differences.

    Exact (every sign pattern) for up to :data:`EXACT_PERMUTATION_MAX_N` non-zero
    differences, else a seeded Monte Carlo estimate that never returns 0.
    """
    nonzero = [d for d in differences if d != 0]
    if not nonzero:
        return 1.0
    observed = abs(math.fsum(nonzero))
    # Float sums of equal magnitude may differ in the last bits; they count as ties.
    tolerance = 1e-9 * max(1.0, observed)
    if len(nonzero) <= EXACT_PERMUTATION_MAX_N:
        extreme = sum(
            abs(math.fsum(s * d for s, d in zip(signs, nonzero, strict=True)))
            >= observed - tolerance
            for signs in product((1, -1), repeat=len(nonzero))
        )
        return extreme / 2 ** len(nonzero)
    rng = random.Random(seed)
    extreme = sum(
        abs(math.fsum(d if rng.random() < 0.5 else -d for d in nonzero)) >= observed - tolerance
        for _ in range(resamples)
    )
    return (extreme + 1) / (resamples + 1)


def cohens_h(p1: float, p2: float) -> float:
    """Cohen's h, the effect size of a difference of proportions (p1 - p2)."""
    return 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2))


def paired_cohens_d(differences: Sequence[float]) -> float:
    """Cohen's d_z of paired differences: their mean over their standard deviation.

    Returns:
        nan for fewer than two pairs; 0 or +-inf when every difference is the same.
    """
    if len(differences) < 2:
        return math.nan
    mean = statistics.fmean(differences)
    sd = statistics.stdev(differences)
    if sd == 0:
        return 0.0 if mean == 0 else math.copysign(math.inf, mean)
    return mean / sd


def effect_label(size: float) -> str:
    """Cohen's conventional words for |h| or |d|: negligible, small, medium, large."""
    magnitude = abs(size)
    if math.isnan(magnitude):
        return "unknown"
    if magnitude < 0.2:
        return "negligible"
    if magnitude < 0.5:
        return "small"
    return "medium" if magnitude < 0.8 else "large"
