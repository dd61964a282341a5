"""What a curation produced: the curate flow's return value."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from benchlab.config.base import Frozen


class CurateResult(Frozen):
    """The dataset version a curation wrote (or found already written)."""

    dataset: str
    """The evaluation dataset's name."""

    version: str
    """The version id: a hash of the records' content."""

    dataset_id: str
    """MLflow's id of the dataset."""

    run_id: str
    """The companion MLflow run that records this version (filters, count, trial ids)."""

    records: int
    """Records in this version (one per trial)."""

    new_records: int
    """Records the dataset did not hold before."""

    existing_records: int
    """Records of trials the dataset already held, replaced by the same trial's record."""

    already_curated: bool
    """The same records were curated before: nothing was written."""

    runs_updated: int
    """Trial runs whose ``baseline.*`` metrics were logged now."""

    parquet_path: Path | None = None
    """The exported parquet file; None when not asked for or pyarrow is missing."""

    notes: tuple[str, ...] = ()
    """Things the user should know (a skipped export and why)."""

    cells: dict[str, dict[str, float]] = Field(default_factory=dict)
    """Per-cell means of the baseline metrics, with the cell's number of trials."""

    @property
    def ref(self) -> str:
        """``NAME@VERSION``: what a later evaluation names to score exactly these records."""
        return f"{self.dataset}@{self.version}"
