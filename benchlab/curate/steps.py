"""The steps of ``flows/curate.py``, as plain functions usable without Prefect."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from benchlab.curate.baseline import baseline_metrics
from benchlab.curate.cells import by_cell
from benchlab.curate.dataset import UpsertOutcome, upsert
from benchlab.curate.export import export_parquet
from benchlab.curate.filters import CurateFilters
from benchlab.curate.options import CurateOptions
from benchlab.curate.records import Guidelines, Record, TrialRef, build_record
from benchlab.curate.select import SelectedTrial, load_result, search_trials
from benchlab.errors import BenchlabError
from benchlab.settings import Settings
from benchlab.tracking import setup_tracking

READERS = 4
"""Artifacts read at once: reading is mostly waiting on files or the network."""


@dataclass(frozen=True)
class Selection:
    """The trial runs a curation takes, in their experiment."""

    experiment_id: str
    trials: tuple[SelectedTrial, ...]


def select(settings: Settings, filters: CurateFilters, options: CurateOptions) -> Selection:
    """The finished trial runs that pass the filters.

    Raises:
        BenchlabError: No trial run passes them.
    """
    from mlflow import MlflowClient

    experiment_id = setup_tracking(settings)
    trials = tuple(search_trials(MlflowClient(), [experiment_id], filters, options.page_size))
    if not trials:
        raise BenchlabError(f"no finished trial run matches: {filters.filter_string()}")
    return Selection(experiment_id, trials)


def build_records(settings: Settings, selection: Selection, options: CurateOptions) -> list[Record]:
    """One record per selected trial, from its ``result.json``; a trial's full result is
    dropped as soon as its record is built, so memory holds only trimmed records."""
    guidelines = Guidelines(settings.tasks_dir)

    def record(trial: SelectedTrial) -> Record:
        result = load_result(trial.artifact_uri)
        ref = TrialRef(trial.run_id, trial.trace_id)
        metrics = baseline_metrics(result, options.loop_repeats)
        return build_record(result, ref, guidelines(result.task), options, metrics)

    with ThreadPoolExecutor(max_workers=READERS) as pool:
        return list(pool.map(record, selection.trials))


def log_baseline(selection: Selection, records: list[Record]) -> int:
    """The records' baseline metrics as metrics of their trials' runs.

    Each metric is stamped with its run's start time and step 0, so logging the same
    value again writes nothing new; runs that already hold every value are skipped.

    Returns:
        How many runs were written to.
    """
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient()
    written = 0
    for trial, record in zip(selection.trials, records, strict=True):
        metrics: dict[str, float] = record["outputs"]["metrics"]
        if trial.logged == metrics:
            continue
        stamp = trial.start_time_ms
        batch = [Metric(k, v, stamp, 0) for k, v in sorted(metrics.items())]
        client.log_batch(trial.run_id, metrics=batch)
        written += 1
    return written


def cell_table(records: list[Record]) -> dict[str, dict[str, float]]:
    """Per-cell means of the baseline metrics, as ``{cell: {column: value}}``."""
    frame = by_cell((r["tags"]["cell"], r["outputs"]["metrics"]) for r in records)
    table: dict[str, dict[str, float]] = {}
    for cell, row in frame.iterrows():
        table[str(cell)] = {k: float(v) for k, v in row.items() if v == v}  # NaN: absent
    return table


def upsert_dataset(
    selection: Selection,
    records: list[Record],
    filters: CurateFilters,
    options: CurateOptions,
    cells: dict[str, dict[str, float]],
) -> UpsertOutcome:
    """Merge the records into the named dataset and record the version they make."""
    name = options.dataset or filters.default_dataset_name()
    return upsert(records, name, selection.experiment_id, filters, options, cells)


def export(
    settings: Settings, outcome: UpsertOutcome, records: list[Record], options: CurateOptions
) -> Path | None:
    """The version's records as parquet under ``<data dir>/datasets``; None when not
    asked for, or when pyarrow is missing (see :data:`MISSING_PYARROW`)."""
    if not options.parquet:
        return None
    return export_parquet(records, outcome.ref, settings.state_dir / "datasets")
