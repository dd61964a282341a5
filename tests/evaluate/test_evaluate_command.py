"""``benchlab evaluate`` as the CLI runs it: bad names are usage errors listing the valid."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from benchlab.errors import UsageError
from benchlab.evaluate import steps
from benchlab.evaluate.request import EvaluateRequest
from benchlab.settings import Settings
from tests.evaluate.conftest import Curated


def test_an_unknown_dataset_lists_the_known_ones(
    settings: Settings, curate: Callable[..., Curated]
) -> None:
    ref, _ = curate(passes=(True,))
    with pytest.raises(UsageError, match="unknown dataset 'nope'; valid: .*" + ref.split("@")[0]):
        steps.resolve(settings, EvaluateRequest(dataset="nope"))


def test_an_unknown_version_lists_the_versions(
    settings: Settings, curate: Callable[..., Curated]
) -> None:
    ref, _ = curate(passes=(True,))
    name = ref.split("@")[0]
    with pytest.raises(UsageError, match=f"unknown version '0000' of dataset .*valid: {ref}"):
        steps.resolve(settings, EvaluateRequest(dataset=f"{name}@0000"))
    # The name alone is its latest version.
    version = steps.resolve(settings, EvaluateRequest(dataset=name))
    assert str(version.ref) == ref


def test_only_a_criterion_no_record_has_is_a_usage_error(
    settings: Settings, curate: Callable[..., Curated]
) -> None:
    ref, _ = curate(passes=(True,))
    version = steps.resolve(settings, EvaluateRequest(dataset=ref))
    records = steps.load_records(version)
    request = EvaluateRequest(dataset=ref, only=("specificity",))
    with pytest.raises(UsageError, match=r"no record .* 'specificity'; valid: .*completeness"):
        steps.load_judges(settings, request, records)


def test_the_table_shows_means_per_criterion_and_config() -> None:
    from rich.console import Console

    from benchlab.commands.evaluate import print_result
    from benchlab.evaluate.request import CriterionSummary, EvaluateResult

    result = EvaluateResult(
        dataset="d@0123456789abcdef", run_id="r1", records=2,
        criteria={"judge.completeness": CriterionSummary(mean=4.0, scored=1, unscored=1)},
        by_config={"m/Q4/c": {"judge.completeness": 4.0}}, judge_calls=2,
    )  # fmt: skip
    console = Console(record=True, width=200)
    print_result(console, Settings(), result)
    text = console.export_text()
    assert "judge.completeness" in text and "4.00" in text and "m/Q4/c" in text
    assert "r1" in text and "not reported by the endpoint" in text
