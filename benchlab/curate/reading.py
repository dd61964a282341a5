"""A trial's ``result.json`` as curation reads it: everything but the request bodies.

Each model call's ``request`` holds the whole conversation so far, so the requests are
most of a result (a 16-call trial repeats its first messages 16 times) and building
them as Python objects was most of the time curation spent per trial. No record,
metric or transcript reads them, so :class:`CuratedTrial` leaves them in the JSON:
its calls take ``request`` from a key that never occurs, and the real key is an
ignored extra, skipped by the JSON parser without becoming a Python object.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from benchlab.results import ModelCall, TrialResult

NOT_READ = "\x00request body not read by curation"
"""A key no result has: the request body is never validated into objects."""


class CuratedCall(ModelCall):
    """A model call without its request body (``request`` is always empty)."""

    model_config = ConfigDict(extra="ignore")

    request: dict[str, Any] = Field(default_factory=dict, validation_alias=NOT_READ)
    """Empty: the body the agent sent stays in ``result.json``."""


class CuratedTrial(TrialResult):
    """A :class:`TrialResult` whose calls are :class:`CuratedCall`; every other field
    is validated exactly as in a full result."""

    calls: tuple[CuratedCall, ...] = ()
    """Model calls recorded by the gateway, without their request bodies."""


def read_trial(text: str | bytes) -> TrialResult:
    """A ``result.json``'s content as a :class:`CuratedTrial`."""
    return CuratedTrial.model_validate_json(text)
