"""Deterministic graders, table-driven, and composite gating."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from benchlab.config.graders import GraderConfig
from benchlab.scoring.graders import GradedTrial, grade
from tests.scoring.records import record

CONFIG: TypeAdapter[Any] = TypeAdapter(GraderConfig)

TRIAL = GradedTrial.from_record(
    record(
        final_answer='{"status": "ok", "count": 3}',
        diff="diff --git a/calc/ops.py b/calc/ops.py\n+def subtract(a, b):\n",
        transcript="$ python -m unittest\nOK",
        checks=[
            {"name": "tests", "passed": True, "exit_code": 0},
            {"name": "lint", "passed": False, "exit_code": 1},
            {"name": "slow", "passed": False, "exit_code": None},
        ],
    )
)

SCHEMA = {
    "type": "object",
    "properties": {"status": {"enum": ["ok"]}, "count": {"type": "integer"}},
    "required": ["status", "count"],
}


@pytest.mark.parametrize(
    ("config", "passed"),
    [
        ({"kind": "regex", "pattern": r"def subtract\(", "source": "diff"}, True),
        ({"kind": "regex", "pattern": r"def multiply\(", "source": "diff"}, False),
        ({"kind": "regex", "pattern": "^ok$", "source": "transcript"}, False),
        (
            {"kind": "regex", "pattern": "(?m)^ok$", "source": "transcript", "ignore_case": True},
            True,
        ),
        ({"kind": "contains", "text": "unittest", "source": "transcript"}, True),
        ({"kind": "contains", "text": "STATUS"}, False),
        ({"kind": "contains", "text": "STATUS", "ignore_case": True}, True),
        ({"kind": "exact", "expected": '  {"status": "ok", "count": 3}\n'}, True),
        ({"kind": "exact", "expected": '{"status": "ok", "count": 3} ', "strip": False}, False),
        ({"kind": "json_schema", "schema": SCHEMA}, True),
        ({"kind": "json_schema", "schema": {**SCHEMA, "required": ["missing"]}}, False),
        ({"kind": "json_schema", "schema": SCHEMA, "source": "transcript"}, False),
        ({"kind": "command", "check": "tests"}, True),
        ({"kind": "command", "check": "lint"}, False),
        ({"kind": "command", "check": "lint", "expect_exit": 1}, True),
        ({"kind": "command", "check": "slow"}, False),
        ({"kind": "command", "check": "never-ran"}, False),
    ],
)
def test_grader(config: dict[str, Any], passed: bool) -> None:
    result = grade(CONFIG.validate_python(config), TRIAL)
    assert result.passed is passed, result.detail
    assert result.score == (1.0 if passed else 0.0)


@pytest.mark.parametrize(
    ("content", "passed"),
    [('{"status": "ok", "count": 1}', True), ('{"status": "bad"}', False), ("not json", False)],
)
def test_json_schema_on_a_workspace_file(tmp_path: Path, content: str, passed: bool) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "result.json").write_text(content)
    trial = GradedTrial(workspace=tmp_path)
    config = CONFIG.validate_python(
        {"kind": "json_schema", "schema": SCHEMA, "file": "out/result.json"}
    )
    assert grade(config, trial).passed is passed


def test_a_missing_file_fails_the_grader(tmp_path: Path) -> None:
    config = CONFIG.validate_python({"kind": "contains", "text": "x", "file": "absent.txt"})
    result = grade(config, GradedTrial(workspace=tmp_path))
    assert not result.passed and "cannot read" in result.detail


def _composite(*children: dict[str, Any], threshold: float = 0.5) -> Any:
    return CONFIG.validate_python(
        {"kind": "composite", "pass_threshold": threshold, "graders": list(children)}
    )


PASS = {"kind": "command", "check": "tests"}
FAIL = {"kind": "command", "check": "lint"}


@pytest.mark.parametrize(
    ("children", "threshold", "score", "passed"),
    [
        ([PASS, FAIL], 0.5, 0.5, True),
        ([PASS, {**FAIL, "weight": 3}], 0.5, 0.25, False),
        ([{**PASS, "weight": 3}, FAIL], 0.5, 0.75, True),
        ([{**FAIL, "required": True}, {**PASS, "weight": 9}], 0.5, 0.9, False),
        ([{**PASS, "required": True}, FAIL, FAIL], 0.3, 1 / 3, True),
        ([PASS, FAIL], 1.0, 0.5, False),
    ],
)
def test_composite_weighted_mean_and_required_gate(
    children: list[dict[str, Any]], threshold: float, score: float, passed: bool
) -> None:
    result = grade(_composite(*children, threshold=threshold), TRIAL)
    assert result.score == pytest.approx(score)
    assert result.passed is passed
    assert len(result.parts) == len(children)


def test_composites_nest() -> None:
    inner = {"kind": "composite", "graders": [FAIL], "required": True}
    result = grade(_composite(PASS, inner), TRIAL)
    assert not result.passed and "required failed: composite" in result.detail


@pytest.mark.parametrize(
    "config",
    [
        {"kind": "regex", "pattern": "("},
        {"kind": "json_schema", "schema": {"type": "no-such-type"}},
        {"kind": "contains", "text": "x", "file": "../outside"},
        {"kind": "command", "check": "tests", "weight": 0},
        {"kind": "composite", "graders": []},
        {"kind": "telepathy"},
        {"kind": "exact", "expected": "x", "unknown": 1},
    ],
)
def test_bad_grader_config_is_refused(config: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CONFIG.validate_python(config)
