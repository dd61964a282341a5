"""Merging records into the dataset while they are still being built.

A curation must not write when the version its records make was recorded before, and
the version is a hash of every record: known only at the end. But a version names its
trials, and each version's run is tagged with a digest of its trial ids, so when no
recorded version of the dataset has the selected trial set, this curation's version
cannot have been recorded: its records are merged a batch at a time as they are built
(the dataset's writes overlap the reading of ``result.json`` files). Otherwise (the
same trials curated before, or versions recorded before the tag existed) records are
built first and the version is checked before anything is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from benchlab.curate.records import Record

if TYPE_CHECKING:
    from mlflow.genai.datasets import EvaluationDataset

MERGE_BATCH = 500
"""Records per ``merge_records`` call: one transaction each, bounded memory."""

TRIAL_SET_TAG = "trial_set"
"""The version run's tag holding :func:`trial_set_digest` of its trials."""


def trial_set_digest(trial_ids: Iterable[str]) -> str:
    """A digest of a set of trial ids (order and repeats do not matter)."""
    return hashlib.sha256("\n".join(sorted(set(trial_ids))).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class UpsertPlan:
    """Where a curation's records go, and whether they may be merged while built."""

    name: str
    dataset_id: str
    stream: bool
    """No recorded version has these trials: merge records as they are built."""
    records_before: int
    """Records the dataset held before this curation."""


def merge(dataset: EvaluationDataset, records: list[Record]) -> None:
    """Merge records into the dataset, :data:`MERGE_BATCH` per call."""
    for start in range(0, len(records), MERGE_BATCH):
        # merge_records adds MLflow's user tag to each record's tags in place.
        batch = [{**r, "tags": dict(r["tags"])} for r in records[start : start + MERGE_BATCH]]
        dataset.merge_records(batch)


def merged_while_built(records: Iterator[Record], plan: UpsertPlan | None) -> Iterator[Record]:
    """The records, unchanged; when the plan says so, each batch is merged into the
    dataset as soon as it is complete."""
    if plan is None or not plan.stream:
        yield from records
        return
    from mlflow.genai.datasets import get_dataset

    dataset = get_dataset(dataset_id=plan.dataset_id)
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        yield record
        if len(batch) == MERGE_BATCH:
            merge(dataset, batch)
            batch = []
    merge(dataset, batch)
