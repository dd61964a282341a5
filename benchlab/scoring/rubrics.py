"""Rubrics as data: ``judges/rubrics/*.yaml`` validated into frozen models."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, model_validator

from benchlab.config.base import Frozen
from benchlab.config.validation import validate_doc
from benchlab.config.yamlsource import read_yaml
from benchlab.errors import ConfigError, Problem

BASELINE = "baseline"
"""The rubric every trial is scored on, whatever its archetype."""

GUIDELINE_JUDGE = "guideline"
"""The judge that scores a task's own guidelines."""


class CriterionKind(StrEnum):
    """How a criterion gets its value."""

    scale = "scale"
    """Judged 1-5 with a rationale."""

    boolean = "boolean"
    """Judged yes/no with a rationale."""

    deterministic = "deterministic"
    """Computed from the record (its checks), not judged."""

    cross_trial = "cross_trial"
    """Computed across repeats of one configuration and task, not per record."""


class Criterion(Frozen):
    """One quality a rubric scores."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    """Identifier of the criterion; for judged kinds, also the judge's name by default."""

    kind: CriterionKind = CriterionKind.scale
    """How the value is obtained."""

    description: str = Field(min_length=1)
    """The criterion in words a judge can apply; the judge receives it as input."""

    judge: str | None = None
    """The judge program that scores it; default the criterion's name (judged kinds)."""

    @property
    def judged(self) -> bool:
        """Whether a judge model scores this criterion."""
        return self.kind in (CriterionKind.scale, CriterionKind.boolean)

    @property
    def judge_name(self) -> str:
        """The judge that scores it (for computed kinds, the criterion's own name)."""
        return self.judge or self.name


class Rubric(Frozen):
    """The criteria of one archetype (or of the baseline)."""

    name: str
    """The archetype it belongs to, or ``baseline``."""

    description: str = ""
    """What this kind of work is judged on, for people."""

    criteria: tuple[Criterion, ...] = Field(min_length=1)
    """The criteria, in report order."""

    @model_validator(mode="after")
    def _unique(self) -> Rubric:
        names = [c.name for c in self.criteria]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"criteria named more than once: {', '.join(duplicated)}")
        return self


def load_rubric(path: Path) -> Rubric:
    """Validate one rubric file; its ``name`` must match the file name."""
    doc = read_yaml(path)
    rubric = validate_doc(doc, Rubric)
    if rubric.name != path.stem:
        line = doc.line_of(("name",))
        raise ConfigError(
            [Problem(str(path), line, "name", f"must match the file name {path.stem!r}")]
        )
    return rubric


def load_rubrics(rubrics_dir: Path) -> dict[str, Rubric]:
    """Every rubric in ``rubrics_dir`` by name; all files' problems are reported together."""
    rubrics: dict[str, Rubric] = {}
    problems: list[Problem] = []
    for path in sorted(rubrics_dir.glob("*.yaml")):
        try:
            rubric = load_rubric(path)
        except ConfigError as exc:
            problems.extend(exc.problems)
        else:
            rubrics[rubric.name] = rubric
    if problems:
        raise ConfigError(problems)
    if BASELINE not in rubrics:
        raise ConfigError([Problem(str(rubrics_dir), None, "", "no baseline.yaml rubric")])
    return rubrics


def criteria_for(expectations: dict[str, Any], rubrics: dict[str, Rubric]) -> tuple[Criterion, ...]:
    """The criteria a record is scored on: its archetype's, the baseline's, its guidelines.

    Args:
        expectations: The record's ``expectations`` (``rubric`` and ``guidelines``).
        rubrics: The loaded rubrics by name.

    Raises:
        ConfigError: The record names a rubric that does not exist.
    """
    name = str(expectations.get("rubric", ""))
    if name not in rubrics:
        known = ", ".join(sorted(rubrics))
        raise ConfigError([Problem("record", None, "rubric", f"unknown {name!r}; valid: {known}")])
    criteria = [*rubrics[name].criteria, *rubrics[BASELINE].criteria]
    taken = {c.name for c in criteria}
    for guideline in expectations.get("guidelines") or ():
        # A guideline that reuses a rubric criterion's name is kept apart by a prefix.
        gname = str(guideline["name"])
        criteria.append(
            Criterion(
                name=gname if gname not in taken else f"guideline_{gname}",
                kind=CriterionKind.scale,
                description=str(guideline["description"]),
                judge=GUIDELINE_JUDGE,
            )
        )
    return tuple(criteria)
