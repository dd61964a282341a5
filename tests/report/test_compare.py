"""A against B, paired per (task, repeat), on trials read back from MLflow."""

from __future__ import annotations

import pandas as pd
import pytest

from benchlab.errors import UsageError
from benchlab.report.compare import compare
from benchlab.report.stats import paired_permutation_p
from tests.report.trials import REPEATS, SPECS, TASKS, correctness

API, Q4A, Q4B = "gpt-mini+pi", "qwen:Q4_K_M@bbbb00000001+pi", "qwen:Q4_K_M@bbbb00000002+pi"


def test_a_clear_difference_is_called_real(trials: pd.DataFrame) -> None:
    result = compare(trials, API, Q4A)
    # Per (task, repeat): the API model passes 8 pairs that Q4A fails, and never the reverse.
    assert (result.pairs, result.tasks, result.a_passes, result.b_passes) == (12, 3, 11, 3)
    assert (result.only_a, result.only_b) == (8, 0)
    assert result.p_value == pytest.approx(2 / 2**8)
    assert result.significant
    sentence = result.sentence()
    assert "is real at alpha 0.05" in sentence and f"{API} passes more often" in sentence
    assert "+67 points" in sentence


def test_equal_pass_rates_are_not_called_real(trials: pd.DataFrame) -> None:
    result = compare(trials, Q4A, Q4B, alpha=0.05)
    assert (result.only_a, result.only_b) == (2, 2)
    assert result.p_value == 1.0 and result.effect == 0.0
    assert "not real" in result.sentence()


def test_judge_scores_are_compared_pair_by_pair(trials: pd.DataFrame) -> None:
    result = compare(trials, API, Q4A)
    (score,) = result.scores
    api, q4a = SPECS[3], SPECS[1]
    differences = [
        correctness(bool(api.passes[t][r]), r) - correctness(bool(q4a.passes[t][r]), r)
        for t in TASKS
        for r in range(REPEATS)
    ]
    assert score.criterion == "correctness" and score.pairs == 12
    assert score.difference == pytest.approx(sum(differences) / 12)
    assert score.p_value == pytest.approx(paired_permutation_p(differences))
    assert score.low <= score.difference <= score.high
    assert "real at alpha 0.05" in score.sentence(0.05)


def test_configurations_without_common_trials_are_refused(trials: pd.DataFrame) -> None:
    with pytest.raises(UsageError, match="share no trial"):
        compare(trials, API, "nothing")
    with pytest.raises(UsageError, match="alpha"):
        compare(trials, API, Q4A, alpha=1.5)
