"""Which trials a curation takes: the curate flow's parameters, and their MLflow filter."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated

from pydantic import Field, model_validator

from benchlab.config.base import Frozen
from benchlab.results import TrialStatus

# Values go into MLflow filter strings between single quotes: no quote may end them early.
Value = Annotated[str, Field(min_length=1, max_length=250, pattern=r"^[^'\"\\]+$")]

TAG_FIELDS = {
    "tasks": "task",
    "archetypes": "archetype",
    "models": "model",
    "quants": "quant",
    "cells": "cell",
    "statuses": "status",
    "sweeps": "sweep",
}
"""Each list-valued filter and the trial-run tag it matches."""


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class CurateFilters(Frozen):
    """The trials to curate; every empty field means "any". Values within a field are
    alternatives (OR); fields combine with AND."""

    tasks: tuple[Value, ...] = ()
    """Task names (tag ``task``)."""

    archetypes: tuple[Value, ...] = ()
    """Task archetypes (tag ``archetype``)."""

    models: tuple[Value, ...] = ()
    """Model names from ``models.yaml`` (tag ``model``)."""

    quants: tuple[Value, ...] = ()
    """Quantization tags (tag ``quant``)."""

    cells: tuple[Value, ...] = ()
    """Engine configuration ids (tag ``cell``)."""

    statuses: tuple[TrialStatus, ...] = ()
    """How the trials ended: passed, failed, error, timeout, limit (tag ``status``)."""

    sweeps: tuple[Value, ...] = ()
    """Sweep ids (tag ``sweep``)."""

    since: datetime | None = None
    """Only trials whose run started at or after this time (UTC when no zone is given)."""

    until: datetime | None = None
    """Only trials whose run started before this time (UTC when no zone is given)."""

    @model_validator(mode="after")
    def _ordered_range(self) -> CurateFilters:
        if self.since and self.until and _utc(self.since) >= _utc(self.until):
            raise ValueError("since must be earlier than until")
        return self

    def accepted(self, field: str) -> tuple[str, ...]:
        """The accepted values of a list-valued filter, as strings."""
        return tuple(str(v) for v in getattr(self, field))

    def filter_string(self) -> str:
        """The MLflow run filter for these filters.

        MLflow's filter language has neither OR nor IN for tags, so a field with one
        value is matched by the store and a field with several by :meth:`matches`.
        """
        clauses = ["tags.kind = 'trial'"]
        for field, tag in TAG_FIELDS.items():
            values = self.accepted(field)
            if len(values) == 1:
                clauses.append(f"tags.{tag} = '{values[0]}'")
        if self.since is not None:
            clauses.append(f"attributes.start_time >= {millis(self.since)}")
        if self.until is not None:
            clauses.append(f"attributes.start_time < {millis(self.until)}")
        return " and ".join(clauses)

    def matches(self, tags: Mapping[str, str]) -> bool:
        """Whether a trial run's tags pass every list-valued filter."""
        return all(
            not values or tags.get(tag, "") in values
            for field, tag in TAG_FIELDS.items()
            for values in (self.accepted(field),)
        )

    def default_dataset_name(self) -> str:
        """``benchlab-<archetype>`` for a single selected archetype, else ``benchlab-all``."""
        archetypes = self.accepted("archetypes")
        return f"benchlab-{archetypes[0]}" if len(archetypes) == 1 else "benchlab-all"

    def as_params(self) -> dict[str, str]:
        """The filters as flat strings, for a run's params: empty fields left out."""
        params = {
            f"filters.{field}": ",".join(self.accepted(field))
            for field in TAG_FIELDS
            if self.accepted(field)
        }
        for name in ("since", "until"):
            moment = getattr(self, name)
            if moment is not None:
                params[f"filters.{name}"] = _utc(moment).isoformat()
        return params


def millis(moment: datetime) -> int:
    """A moment as milliseconds since the epoch (UTC when no zone is given)."""
    return int(_utc(moment).timestamp() * 1000)
