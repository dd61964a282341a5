"""The shipped rubrics and labelled data validate; computed criteria."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from benchlab.config.tasks import Archetype
from benchlab.errors import ConfigError
from benchlab.scoring.computed import changed_files, determinism, reproducibility
from benchlab.scoring.examples import Split, load_examples
from benchlab.scoring.programs import JUDGE_SIGNATURES
from benchlab.scoring.rubrics import CriterionKind, criteria_for, load_rubrics
from tests.scoring.records import record

JUDGES = Path(__file__).resolve().parents[2] / "judges"


def test_every_archetype_has_a_rubric_whose_judged_criteria_have_judges() -> None:
    rubrics = load_rubrics(JUDGES / "rubrics")
    assert set(rubrics) == {a.value for a in Archetype} | {"baseline"}
    for rubric in rubrics.values():
        for criterion in rubric.criteria:
            if criterion.judged:
                assert criterion.judge_name in JUDGE_SIGNATURES
    kinds = {c.name: c.kind for c in rubrics["repo_maintenance"].criteria}
    assert kinds["determinism"] is CriterionKind.deterministic
    assert kinds["reproducibility"] is CriterionKind.cross_trial
    assert {c.name: c.kind for c in rubrics["baseline"].criteria}[
        "refusal"
    ] is CriterionKind.boolean


def test_labelled_data_is_large_enough_and_has_both_splits() -> None:
    examples = load_examples(JUDGES / "data", load_rubrics(JUDGES / "rubrics"))
    by_file = Counter(e.id.split("-")[0] for e in examples)
    assert all(count >= 30 for count in by_file.values()), by_file
    assert len(by_file) == 5
    for judge in JUDGE_SIGNATURES:
        splits = {e.split for e in examples if e.judge == judge}
        assert splits == {Split.train, Split.heldout}, judge
    labels = {e.label for e in examples if e.judge != "refusal"}
    assert labels == {1, 2, 3, 4, 5}


def test_a_bad_example_is_reported_with_file_and_line(tmp_path: Path) -> None:
    good = (JUDGES / "data" / "baseline.jsonl").read_text().splitlines()[0]
    bad = good.replace('"label": 5', '"label": 9')
    (tmp_path / "x.jsonl").write_text(good + "\n" + bad + "\n")
    with pytest.raises(ConfigError) as caught:
        load_examples(tmp_path, load_rubrics(JUDGES / "rubrics"))
    assert caught.value.problems[0].line == 2


def test_a_bad_rubric_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "baseline.yaml").write_text("name: baseline\ncriteria:\n  - name: Bad Name\n")
    with pytest.raises(ConfigError) as caught:
        load_rubrics(tmp_path)
    assert caught.value.problems[0].line == 3


def test_a_record_is_scored_on_its_archetype_the_baseline_and_its_guidelines() -> None:
    rubrics = load_rubrics(JUDGES / "rubrics")
    rec = record(guidelines=[{"name": "tested", "description": "Has a unit test."}])
    criteria = criteria_for(rec["expectations"], rubrics)
    assert [c.name for c in criteria] == [
        "idiomatic", "completeness", "sycophancy", "refusal", "instruction_adherence", "tested",
    ]  # fmt: skip
    assert criteria[-1].judge_name == "guideline"
    assert criteria[-1].description == "Has a unit test."


def test_determinism_is_the_share_of_checks_passed() -> None:
    checks = [
        {"name": "tests", "passed": True, "exit_code": 0},
        {"name": "lint", "passed": False, "exit_code": 1},
        {"name": "slow", "passed": False, "exit_code": None},
        {"name": "types", "passed": True, "exit_code": 0},
    ]
    score = determinism(record(checks=checks))
    assert score.value == 0.5 and "lint (exit 1)" in score.rationale
    assert determinism(record(checks=[])).could_not_score


DIFF_A = "diff --git a/calc/ops.py b/calc/ops.py\n+x\ndiff --git a/tests/t.py b/tests/t.py\n+y\n"
DIFF_B = "diff --git a/calc/ops.py b/calc/ops.py\n+z\n"
OK = [{"name": "tests", "passed": True, "exit_code": 0}]
KO = [{"name": "tests", "passed": False, "exit_code": 1}]


@pytest.mark.parametrize(
    ("repeats", "expected"),
    [
        ([(OK, DIFF_A), (OK, DIFF_A), (OK, DIFF_A)], 1.0),
        ([(OK, DIFF_A), (KO, DIFF_A)], (0.5 + 1.0) / 2),
        ([(OK, DIFF_A), (OK, DIFF_B)], (1.0 + 0.5) / 2),
        ([(OK, DIFF_A), (OK, DIFF_A), (KO, "")], (2 / 3 + (1 + 0 + 0) / 3) / 2),
    ],
)
def test_reproducibility(
    repeats: list[tuple[list[dict[str, object]], str]], expected: float
) -> None:
    records = [record(checks=c, diff=d, trial=f"t{i}") for i, (c, d) in enumerate(repeats)]
    assert reproducibility(records).value == pytest.approx(expected)


def test_reproducibility_needs_two_repeats() -> None:
    assert reproducibility([record()]).could_not_score
    assert changed_files(DIFF_A) == {"calc/ops.py", "tests/t.py"}
