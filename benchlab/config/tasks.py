"""``tasks/NAME.yaml``: what the agent is asked to do, on which repository, judged how."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StrictStr, ValidationInfo, field_validator, model_validator

from benchlab.config.base import Frozen
from benchlab.config.graders import CommandGrader, CompositeGrader, GraderConfig
from benchlab.config.names import git_ref, git_url, relative_path

VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class Archetype(StrEnum):
    """The kinds of engineering work benchlab judges differently."""

    architectural_planning = "architectural_planning"
    repo_maintenance = "repo_maintenance"
    feature_implementation = "feature_implementation"
    comparative_research = "comparative_research"


class Repository(Frozen):
    """The repository the agent works on."""

    url: str | None = None
    """A git URL to clone."""

    path: str | None = None
    """A local git repository or plain directory, relative to the task file."""

    ref: StrictStr = "HEAD"
    """Branch, tag or commit to start from."""

    @field_validator("url")
    @classmethod
    def _plain_url(cls, url: str | None) -> str | None:
        return None if url is None else git_url(url)

    @field_validator("ref")
    @classmethod
    def _ref_name(cls, ref: str) -> str:
        return git_ref(ref)

    @model_validator(mode="after")
    def _one_source(self) -> Repository:
        if (self.url is None) == (self.path is None):
            raise ValueError("give exactly one of url or path")
        return self


class Limits(Frozen):
    """When the agent is stopped."""

    max_turns: int = Field(default=30, ge=1)
    """Model calls the agent may make."""

    max_output_tokens: int = Field(default=32000, ge=1)
    """Output tokens over the whole trial."""

    timeout_s: float = Field(default=900, gt=0, allow_inf_nan=False)
    """Wall time of the agent run."""


class Check(Frozen):
    """A command run in the workspace after the agent, judged by its exit code."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._ -]*$")]
    """Short name of the check."""

    run: StrictStr
    """Shell command, run in the workspace."""

    expect_exit: int = 0
    """The exit code that means the check passed."""

    timeout_s: float = Field(default=300, gt=0, allow_inf_nan=False)
    """Time after which the check is stopped and counted as failed."""

    tests: Literal["pytest", "unittest"] | None = None
    """Read test counts from the output's pytest or unittest summary."""

    junit: StrictStr | None = None
    """Read test counts from this JUnit XML report, relative to the workspace."""

    @field_validator("run")
    @classmethod
    def _not_blank(cls, run: str) -> str:
        if not run.strip():
            raise ValueError("must be a command, not blank")
        return run

    @field_validator("junit")
    @classmethod
    def _inside_workspace(cls, value: str | None) -> str | None:
        return None if value is None else relative_path(value)


class Guideline(Frozen):
    """A named rubric criterion the judges score."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    """Identifier of the criterion."""

    description: StrictStr
    """What a good answer does, in words a judge can apply."""


class TaskSpec(Frozen):
    """One simulation task."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    """The task's name; ``--task NAME`` finds ``tasks/NAME.yaml``."""

    description: StrictStr = ""
    """What the task is about, for people."""

    archetype: Archetype
    """Which kind of work it is; picks the judges."""

    repository: Repository
    """The repository the agent works on."""

    variables: dict[str, StrictStr] = Field(default_factory=dict)
    """Values for the prompt's placeholders."""

    prompt: StrictStr
    """What the agent is asked, with ``{{var}}`` placeholders."""

    system_prompt: StrictStr | None = None
    """Extra system instructions for the agent."""

    limits: Limits = Limits()
    """When the agent is stopped."""

    setup: tuple[StrictStr, ...] = ()
    """Shell commands run in the workspace before the agent."""

    checks: tuple[Check, ...] = ()
    """Commands run after the agent; the trial passes when all pass."""

    allowed_paths: tuple[StrictStr, ...] = ()
    """Path prefixes the agent is expected to change; empty means anywhere."""

    protected_paths: tuple[StrictStr, ...] = ()
    """Paths the agent must not change (its tests, check scripts): checks run against
    the pristine files, and a trial that changed them is tagged ``tampered``."""

    stuck_after_s: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """End the trial as ``timeout`` after this long with no model call and no change in
    the workspace; by default the run's setting."""

    guidelines: tuple[Guideline, ...] = ()
    """Task-specific rubric criteria for the judges."""

    graders: tuple[GraderConfig, ...] = ()
    """Deterministic graders run on the trial's outputs (``regex``, ``contains``,
    ``exact``, ``json_schema``, ``command``, ``composite``)."""

    @model_validator(mode="after")
    def _graders_name_checks(self) -> TaskSpec:
        names = {c.name for c in self.checks}
        pending = list(self.graders)
        while pending:
            grader = pending.pop()
            if isinstance(grader, CompositeGrader):
                pending.extend(grader.graders)
            elif isinstance(grader, CommandGrader) and grader.check not in names:
                valid = ", ".join(sorted(names)) or "(no checks)"
                raise ValueError(f"grader names unknown check {grader.check!r}; valid: {valid}")
        return self

    @field_validator("protected_paths", "allowed_paths")
    @classmethod
    def _relative(cls, paths: tuple[str, ...]) -> tuple[str, ...]:
        for path in paths:
            relative_path(path)
        return paths

    @field_validator("prompt")
    @classmethod
    def _variables_defined(cls, prompt: str, info: ValidationInfo) -> str:
        defined = set(info.data.get("variables") or {})
        missing = sorted(set(VARIABLE.findall(prompt)) - defined)
        if missing:
            raise ValueError(f"uses undefined variables: {', '.join(missing)}")
        return prompt

    def rendered_prompt(self) -> str:
        """The prompt with its variables filled in (values are inserted as plain text)."""
        return VARIABLE.sub(lambda m: self.variables[m.group(1)], self.prompt)
