"""How a curation builds its records and where it writes them (besides which trials)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from benchlab.config.base import Frozen
from benchlab.curate.baseline import LOOP_REPEATS

DATASET_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class CurateOptions(Frozen):
    """The knobs of a curation; the defaults suit judges with an 8k-token context."""

    dataset: Annotated[str, Field(pattern=DATASET_NAME, max_length=200)] | None = None
    """The evaluation dataset's name; default ``benchlab-<archetype>`` when the filters
    select one archetype, else ``benchlab-all``."""

    max_diff_chars: int = Field(default=12_000, ge=200)
    """Characters of the diff kept in a record (head and tail, whole lines)."""

    max_transcript_chars: int = Field(default=16_000, ge=200)
    """Characters of the transcript kept in a record (head and tail, whole lines)."""

    loop_repeats: int = Field(default=LOOP_REPEATS, ge=2)
    """The same tool call with the same arguments this many times in a row is a loop."""

    page_size: int = Field(default=500, ge=1, le=50_000)
    """Runs fetched from MLflow per search page."""

    parquet: bool = True
    """Also export the version's records to a parquet file under the data directory."""
