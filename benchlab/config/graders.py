"""Deterministic graders as task configuration: a ``graders:`` list, one ``kind`` each."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import jsonschema
from pydantic import Field, field_validator

from benchlab.config.base import Frozen
from benchlab.config.names import relative_path

Source = Literal["final_answer", "diff", "transcript"]
"""Which text of the trial a text grader reads, unless it names a ``file``."""


class GraderBase(Frozen):
    """What every grader has: a name, a weight in a composite, and whether it gates."""

    name: str | None = None
    """Name in reports; default the grader's kind."""

    weight: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    """Weight in a composite's mean."""

    required: bool = False
    """In a composite: the composite fails when this grader fails, whatever the mean."""


class TextGraderBase(GraderBase):
    """A grader that reads one text: the final answer, the diff, the transcript or a file."""

    source: Source = "final_answer"
    """The trial text to read when no ``file`` is given."""

    file: str | None = None
    """A file in the workspace to read instead, relative to its root."""

    @field_validator("file")
    @classmethod
    def _inside(cls, file: str | None) -> str | None:
        return None if file is None else relative_path(file)


class RegexGrader(TextGraderBase):
    """Passes when the regular expression matches somewhere in the text."""

    kind: Literal["regex"]
    pattern: str
    """A Python regular expression."""

    ignore_case: bool = False
    """Match without regard to case."""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from exc
        except RecursionError:
            raise ValueError("not a regular expression: nested too deeply") from None
        return pattern


class ContainsGrader(TextGraderBase):
    """Passes when the text contains the given string."""

    kind: Literal["contains"]
    text: str = Field(min_length=1)
    """The string to find."""

    ignore_case: bool = False
    """Compare without regard to case."""


class ExactGrader(TextGraderBase):
    """Passes when the text equals the expected one."""

    kind: Literal["exact"]
    expected: str
    """The expected text."""

    strip: bool = True
    """Ignore leading and trailing whitespace on both sides."""


class JsonSchemaGrader(TextGraderBase):
    """Passes when the text parses as JSON that validates against the schema."""

    kind: Literal["json_schema"]
    json_schema: dict[str, Any] = Field(alias="schema")
    """The JSON schema (draft 2020-12 unless it says otherwise)."""

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        dialect = schema.get("$schema")
        if dialect is not None and not isinstance(dialect, str):
            # validator_for looks the value up in a dict and fails on a list or number.
            raise ValueError("not a valid JSON schema: $schema must be a string")
        try:
            jsonschema.validators.validator_for(schema).check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ValueError(f"not a valid JSON schema: {exc.message}") from exc
        return schema


class CommandGrader(GraderBase):
    """Passes when a check the trial already ran exited with the expected code."""

    kind: Literal["command"]
    check: str
    """The name of the task's check whose exit code is read."""

    expect_exit: int = 0
    """The exit code that passes."""


class CompositeGrader(GraderBase):
    """The weighted mean of its graders; every ``required`` one must pass as well."""

    kind: Literal["composite"]
    graders: tuple[GraderConfig, ...] = Field(min_length=1)
    """The graders it combines (composites may nest)."""

    pass_threshold: float = Field(default=0.5, ge=0, le=1, allow_inf_nan=False)
    """The weighted mean at or above which the composite passes."""


GraderConfig = Annotated[
    RegexGrader | ContainsGrader | ExactGrader | JsonSchemaGrader | CommandGrader | CompositeGrader,
    Field(discriminator="kind"),
]
"""One grader of a task's ``graders:`` list, chosen by its ``kind``."""

CompositeGrader.model_rebuild()
