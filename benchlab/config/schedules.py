"""``schedules`` in ``models.yaml``: when ``benchlab serve`` runs the pipeline by itself."""

from __future__ import annotations

import re
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from benchlab.config.base import Frozen
from benchlab.config.simulate import SimulateRequest

NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
# Five fields of digits, names, ranges, steps and lists; Prefect checks the rest.
CRON_FIELD = re.compile(r"^[A-Za-z0-9*?/,\-]+$")


class ScheduleSpec(Frozen):
    """A pipeline run on a cron schedule: its deployment is ``pipeline/<name>``."""

    name: Annotated[str, Field(pattern=NAME)] = "nightly"
    """The deployment's name."""

    cron: str = "0 2 * * *"
    """When, as a five-field cron expression in ``timezone``."""

    timezone: str | None = None
    """IANA time zone of ``cron`` (``Europe/Berlin``); default the host's own."""

    simulate: SimulateRequest = SimulateRequest()
    """The sweep to run, as ``benchlab simulate`` takes it (tasks, models, agents,
    repeats, engine, work_pool)."""

    evaluate: bool = True
    """Score the curated dataset with the judges before the report."""

    paused: bool = False
    """Register the schedule without running it until it is resumed in the UI."""

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, value: str) -> str:
        fields = value.split()
        if len(fields) != 5 or not all(CRON_FIELD.match(f) for f in fields):
            raise ValueError(
                f"{value!r} is not a cron expression: five fields, minute hour day month weekday"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError, OSError):
                # OSError: a name too long for a file name, or a folder of zones.
                raise ValueError(f"unknown time zone {value!r} (IANA names, e.g. UTC)") from None
        return value


NIGHTLY = (ScheduleSpec(),)
"""Without a ``schedules`` section: the default sweep every night at 02:00 local time."""
