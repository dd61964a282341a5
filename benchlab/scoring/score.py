"""A judge's or grader's verdict on one criterion of one record."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator


class Score(BaseModel):
    """One criterion's score, or the reason it could not be scored.

    A parse failure, a timeout or an unusable answer is *could not score*: never a
    low score, so that a broken judge cannot pass for a harsh one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    criterion: str
    """The rubric criterion scored (e.g. ``specificity``, a guideline's name)."""

    value: bool | float | None
    """1-5 for scales, True/False for yes/no criteria, 0-1 for computed ones."""

    rationale: str = ""
    """Why the value, in the judge's words (or the computation's)."""

    judge: str
    """The judge or grader that scored it."""

    judge_version: str
    """Which version of that judge: plain or compiled, and a hash of its prompt."""

    could_not_score: bool = False
    """True when no value could be had; ``reason`` says why."""

    reason: str | None = None
    """Why the criterion could not be scored."""

    @model_validator(mode="after")
    def _value_or_reason(self) -> Score:
        if self.could_not_score and (self.value is not None or not self.reason):
            raise ValueError("an unscored criterion has no value and needs a reason")
        if not self.could_not_score and self.value is None:
            raise ValueError("a scored criterion needs a value")
        return self

    @classmethod
    def unscored(cls, criterion: str, judge: str, judge_version: str, reason: str) -> Score:
        """A criterion that could not be scored, with the reason on one line."""
        line = " ".join(reason.split())[:300] or "no reason given"
        return cls(
            criterion=criterion,
            value=None,
            judge=judge,
            judge_version=judge_version,
            could_not_score=True,
            reason=line,
        )
