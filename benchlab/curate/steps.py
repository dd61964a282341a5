"""The steps of ``flows/curate.py``, as plain functions usable without Prefect."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from benchlab.curate.baseline import baseline_metrics
from benchlab.curate.building import build_in_processes, worker_count
from benchlab.curate.cells import by_cell
from benchlab.curate.dataset import UpsertOutcome, plan_upsert, upsert
from benchlab.curate.export import export_parquet
from benchlab.curate.filters import CurateFilters
from benchlab.curate.options import CurateOptions
from benchlab.curate.records import Guidelines, Record, TrialRef, build_record
from benchlab.curate.select import SelectedTrial, load_result, local_result_path, search_trials
from benchlab.curate.store_query import query_trials, sql_store
from benchlab.curate.streaming import UpsertPlan, merged_while_built
from benchlab.errors import BenchlabError
from benchlab.settings import Settings
from benchlab.tracking import setup_tracking

READERS = 4
"""Remote artifacts read at once: reading them is mostly waiting on the network."""

PROCESSES_FROM = 200
"""Trials from which records are built in worker processes: below, starting the
workers would cost more than it saves."""


@dataclass(frozen=True)
class Selection:
    """The trial runs a curation takes, in their experiment."""

    experiment_id: str
    trials: tuple[SelectedTrial, ...]


def select(settings: Settings, filters: CurateFilters, options: CurateOptions) -> Selection:
    """The finished trial runs that pass the filters: read straight from a SQL tracking
    store, else through MLflow's paged run search.

    Raises:
        BenchlabError: No trial run passes them.
    """
    from mlflow import MlflowClient

    experiment_id = setup_tracking(settings)
    store = sql_store()
    if store is not None:
        trials = tuple(query_trials(store, [experiment_id], filters))
    else:
        trials = tuple(search_trials(MlflowClient(), [experiment_id], filters, options.page_size))
    if not trials:
        raise BenchlabError(f"no finished trial run matches: {filters.filter_string()}")
    return Selection(experiment_id, trials)


def plan_dataset(
    selection: Selection, filters: CurateFilters, options: CurateOptions
) -> UpsertPlan:
    """The dataset the records go to (created if needed), and whether they may be
    merged into it while they are built (see :mod:`benchlab.curate.streaming`)."""
    name = options.dataset or filters.default_dataset_name()
    return plan_upsert(name, selection.experiment_id, (t.trial_id for t in selection.trials))


def build_records(
    settings: Settings,
    selection: Selection,
    options: CurateOptions,
    workers: int | None = None,
    plan: UpsertPlan | None = None,
) -> list[Record]:
    """One record per selected trial, from its ``result.json``; a trial's full result is
    dropped as soon as its record is built, so memory holds only trimmed records.

    Many trials in a local artifact store are built in worker processes (one per CPU,
    or ``workers``); a few, or remote artifacts, by threads of this process. With a
    plan that streams, records are merged into the dataset a batch at a time while
    the rest are still being built.
    """
    paths = [local_result_path(t.artifact_uri) for t in selection.trials]
    workers = worker_count() if workers is None else workers
    if workers > 1 and len(paths) >= PROCESSES_FROM and all(paths):
        refs = [TrialRef(t.run_id, t.trace_id) for t in selection.trials]
        jobs = [(path, ref) for path, ref in zip(paths, refs, strict=True) if path]
        try:
            built = build_in_processes(jobs, settings.tasks_dir, options, workers)
            return list(merged_while_built(built, plan))
        except BrokenProcessPool:
            # A worker could not start (its parent's main module cannot be imported
            # again, as with a script read from stdin): this process builds them.
            pass
    guidelines = Guidelines(settings.tasks_dir)

    def record(trial: SelectedTrial) -> Record:
        result = load_result(trial.artifact_uri)
        ref = TrialRef(trial.run_id, trial.trace_id)
        metrics = baseline_metrics(result, options.loop_repeats)
        return build_record(result, ref, guidelines(result.task), options, metrics)

    with ThreadPoolExecutor(max_workers=READERS) as pool:
        return list(merged_while_built(iter(pool.map(record, selection.trials)), plan))


def log_baseline(selection: Selection, records: list[Record]) -> int:
    """The records' baseline metrics as metrics of their trials' runs, where they differ.

    ``log_trial`` logs them when the trial ends, so a curation with the same loop rule
    finds every run up to date and writes nothing. Otherwise (another loop rule, runs
    logged before the metrics existed) the run's metrics are logged now, step 0: later
    than the trial's own, so they become the run's latest values.

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
        stamp = int(time.time() * 1000)
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
    plan: UpsertPlan | None = None,
) -> UpsertOutcome:
    """Merge the records into the named dataset (unless the plan streamed them there
    already) and record the version they make."""
    name = options.dataset or filters.default_dataset_name()
    return upsert(records, name, selection.experiment_id, filters, options, cells, plan)


def export(
    settings: Settings, outcome: UpsertOutcome, records: list[Record], options: CurateOptions
) -> Path | None:
    """The version's records as parquet under ``<data dir>/datasets``; None when not
    asked for, or when pyarrow is missing (see :data:`MISSING_PYARROW`)."""
    if not options.parquet:
        return None
    return export_parquet(records, outcome.ref, settings.state_dir / "datasets")
