"""Deterministic graders: regex, contains, exact, json_schema, command and composite."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from benchlab.config.graders import (
    CommandGrader,
    CompositeGrader,
    ContainsGrader,
    ExactGrader,
    GraderConfig,
    JsonSchemaGrader,
    RegexGrader,
    TextGraderBase,
)
from benchlab.workspace import regular_file_inside


@dataclass(frozen=True)
class CheckOutcome:
    """A check that simulate already ran."""

    passed: bool
    exit_code: int | None


@dataclass(frozen=True)
class GradedTrial:
    """What graders read from a trial."""

    final_answer: str = ""
    diff: str = ""
    transcript: str = ""
    checks: dict[str, CheckOutcome] = field(default_factory=dict)
    workspace: Path | None = None
    """The trial's workspace, for graders that read a file."""

    @classmethod
    def from_record(cls, record: dict[str, Any], workspace: Path | None = None) -> GradedTrial:
        """The gradable parts of a curated record."""
        outputs = record.get("outputs") or {}
        checks = {
            str(c["name"]): CheckOutcome(c.get("passed") is True, c.get("exit_code"))
            for c in outputs.get("checks") or []
        }
        return cls(
            final_answer=str(outputs.get("final_answer") or ""),
            diff=str(outputs.get("diff") or ""),
            transcript=str(outputs.get("transcript") or ""),
            checks=checks,
            workspace=workspace,
        )


@dataclass(frozen=True)
class Grade:
    """A grader's result: pass/fail, a score 0-1, and what it saw."""

    name: str
    passed: bool
    score: float
    detail: str
    required: bool = False
    weight: float = 1.0
    parts: tuple[Grade, ...] = ()


def _text(config: TextGraderBase, trial: GradedTrial) -> str | None:
    """The text a grader reads; None when its file cannot be read."""
    if config.file is None:
        return str(getattr(trial, config.source))
    if trial.workspace is None:
        return None
    target = regular_file_inside(trial.workspace, config.file)
    if target is None:
        return None
    try:
        return target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _verdict(config: GraderConfig, passed: bool, detail: str) -> Grade:
    return Grade(
        name=config.name or config.kind,
        passed=passed,
        score=1.0 if passed else 0.0,
        detail=detail,
        required=config.required,
        weight=config.weight,
    )


def _text_grade(config: TextGraderBase, text: str) -> tuple[bool, str]:
    if isinstance(config, RegexGrader):
        flags = re.IGNORECASE if config.ignore_case else 0
        found = re.search(config.pattern, text, flags)
        return found is not None, f"matched {found.group(0)[:80]!r}" if found else "no match"
    if isinstance(config, ContainsGrader):
        haystack, needle = (
            (text.casefold(), config.text.casefold()) if config.ignore_case else (text, config.text)
        )
        return needle in haystack, "found" if needle in haystack else "not found"
    if isinstance(config, ExactGrader):
        got, want = (
            (text.strip(), config.expected.strip()) if config.strip else (text, config.expected)
        )
        return got == want, "equal" if got == want else f"got {got[:80]!r}"
    assert isinstance(config, JsonSchemaGrader)
    try:
        document = json.loads(text)
    except ValueError as exc:
        return False, f"not JSON: {exc}"
    errors = sorted(
        jsonschema.validators.validator_for(config.json_schema)(config.json_schema).iter_errors(
            document
        ),
        key=lambda e: list(e.path),
    )
    return not errors, "valid" if not errors else f"invalid: {errors[0].message[:120]}"


def grade(config: GraderConfig, trial: GradedTrial) -> Grade:
    """Grade one trial; a missing file or check fails the grader, it never raises."""
    if isinstance(config, CompositeGrader):
        return _composite(config, trial)
    if isinstance(config, CommandGrader):
        outcome = trial.checks.get(config.check)
        if outcome is None:
            return _verdict(config, False, f"no check named {config.check!r} was run")
        passed = outcome.exit_code == config.expect_exit
        return _verdict(config, passed, f"exit {outcome.exit_code}, expected {config.expect_exit}")
    text = _text(config, trial)
    if text is None:
        return _verdict(config, False, f"cannot read {config.file!r} in the workspace")
    passed, detail = _text_grade(config, text)
    return _verdict(config, passed, detail)


def _composite(config: CompositeGrader, trial: GradedTrial) -> Grade:
    parts = tuple(grade(child, trial) for child in config.graders)
    mean = sum(p.score * p.weight for p in parts) / sum(p.weight for p in parts)
    failed_required = [p.name for p in parts if p.required and not p.passed]
    passed = not failed_required and mean >= config.pass_threshold
    detail = f"weighted mean {mean:.2f} (pass at {config.pass_threshold:.2f})"
    if failed_required:
        detail += "; required failed: " + ", ".join(failed_required)
    return Grade(
        name=config.name or config.kind,
        passed=passed,
        score=mean,
        detail=detail,
        required=config.required,
        weight=config.weight,
        parts=parts,
    )
