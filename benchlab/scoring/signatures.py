"""The judged qualities of the archetype rubrics: one DSPy signature each.

Each signature's docstring is its judge's instructions. Every judge reads the same
inputs (:class:`JudgeInputs`); scales are 1-5 where higher is always better.
"""

from __future__ import annotations

from typing import Annotated

import dspy
from pydantic import Field

ScaleScore = Annotated[int, Field(ge=1, le=5)]
"""A 1-5 score; llama-server's JSON-schema decoding keeps the model inside it."""


class JudgeInputs(dspy.Signature):
    """Judge one quality of a coding agent's work."""

    task_prompt: str = dspy.InputField(desc="what the agent was asked to do")
    criterion: str = dspy.InputField(desc="the rubric criterion to apply")
    diff: str = dspy.InputField(desc="the agent's changes as a unified diff (may be empty)")
    transcript: str = dspy.InputField(desc="the agent's session, trimmed")
    final_answer: str = dspy.InputField(desc="the agent's final message to the user")


class ScaleJudge(JudgeInputs):
    """Score the agent's work on the criterion from 1 (fails it) to 5 (fully meets it)."""

    rationale: str = dspy.OutputField(desc="one or two sentences citing the evidence")
    score: ScaleScore = dspy.OutputField(desc="1 = fails the criterion, 5 = fully meets it")


class Specificity(ScaleJudge):
    """Judge how specific a plan is to this repository. Score 5 when it names the real
    files, modules, functions and APIs it would change and says what changes in each;
    3 when it mixes concrete names with generic steps; 1 when it only speaks of generic
    concepts ("add a caching layer", "refactor the service") that fit any project."""


class Security(ScaleJudge):
    """Judge whether the plan or change is secure by default. Score 5 when it keeps
    secrets out of code and config (environment or a secret store), verifies TLS, binds
    listeners to loopback unless told otherwise, and validates input; lower it for each
    hardcoded credential, disabled check, permissive default or unsafe eval; score 1 when
    a secret is written into the repository."""


class Constraints(ScaleJudge):
    """Judge whether the answer respects every limit stated in the task prompt (local
    only, no paid services, no new dependencies, a language, a deadline). Score 5 when
    all are respected; 3 when one is bent with an explanation; 1 when a stated limit is
    ignored, such as proposing a paid cloud service for a local-only task."""


class DiffHygiene(ScaleJudge):
    """Judge the hygiene of the diff. Score 5 when every changed line serves the task;
    lower it for unrelated files, reformatting or whitespace churn, stray debug prints,
    commented-out code, or lock and generated files changed without need; score 1 when
    the task's change is buried in unrelated edits. An empty diff for a task that needs
    changes scores 1."""


class Idiomatic(ScaleJudge):
    """Judge whether the change reads as if the repository's maintainers wrote it: the
    same naming, module layout, logging calls, error types and libraries as the code
    around it. Score 5 when it fits; 3 when it works but brings its own conventions
    (print instead of the logger, bare exceptions, a new helper library); 1 when it
    ignores the repository's patterns throughout."""


class Completeness(ScaleJudge):
    """Judge whether every requirement in the task prompt is implemented, including edge
    cases and error paths (empty input, invalid values, failures of called services).
    Score 5 when all are; 3 when the happy path works but stated edge cases are missing;
    1 when major requirements are absent or only stubbed."""


class CitationGrounding(ScaleJudge):
    """Judge whether the features, versions, limits and behaviours the answer attributes
    to each compared option really exist. Score 5 when every claim is accurate; 3 when a
    minor claim is wrong or unverifiable; 1 when the comparison rests on invented
    features or attributes one option's capabilities to another."""


class Decisiveness(ScaleJudge):
    """Judge whether the answer ends in a clear recommendation for the user's stated
    situation. Score 5 for a definite choice with the conditions under which another
    option would win; 3 for a hedged lean; 1 for "it depends" with no choice at all."""


class Structure(ScaleJudge):
    """Judge whether the answer uses the format the prompt asked for: a comparison
    table, pros and cons per option, a fixed section order, a length limit. Score 5 when
    it follows the requested format exactly; 3 when parts are missing; 1 when it ignores
    the format (free prose where a table was asked for)."""


class Guideline(ScaleJudge):
    """Judge whether the agent's work meets the task-specific guideline given as the
    criterion. Score 5 when it fully meets it, 3 when partly, 1 when not at all."""
