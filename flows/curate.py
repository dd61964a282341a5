"""The curate flow: trial runs into a versioned MLflow evaluation dataset."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from benchlab.curate import steps
from benchlab.curate.dataset import UpsertOutcome
from benchlab.curate.export import MISSING_PYARROW, parquet_available
from benchlab.curate.filters import CurateFilters
from benchlab.curate.options import CurateOptions
from benchlab.curate.records import Record
from benchlab.curate.result import CurateResult
from benchlab.curate.steps import Selection
from benchlab.curate.streaming import UpsertPlan
from benchlab.settings import Settings, get_settings

ANY_TRIAL = CurateFilters()
"""The default selection: every finished trial run."""

DEFAULTS = CurateOptions()

# Records are large and already stored in MLflow: no task hashes or caches them.


@task(name="select-trials", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def select_trials(settings: Settings, filters: CurateFilters, options: CurateOptions) -> Selection:
    """The finished trial runs that pass the filters: a few queries of a SQL tracking
    store, else MLflow's run search a page at a time."""
    return steps.select(settings, filters, options)


@task(name="plan-dataset", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def plan_dataset(
    selection: Selection, filters: CurateFilters, options: CurateOptions
) -> UpsertPlan:
    """The dataset (created if needed); whether records may be merged while built."""
    return steps.plan_dataset(selection, filters, options)


@task(name="build-records", cache_policy=NO_CACHE)
def build_records(
    settings: Settings, selection: Selection, options: CurateOptions, plan: UpsertPlan
) -> list[Record]:
    """One record per trial from its result.json: inputs, trimmed outputs, expectations
    (worker processes, one per CPU, for many trials in a local artifact store), merged
    into the dataset as they come when no recorded version has the same trials."""
    return steps.build_records(settings, selection, options, plan=plan)


@task(name="log-baseline-metrics", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def log_baseline_metrics(selection: Selection, records: list[Record]) -> int:
    """``baseline.*`` metrics onto each trial's run; runs that hold them are skipped."""
    return steps.log_baseline(selection, records)


@task(name="aggregate-cells", cache_policy=NO_CACHE)
def aggregate_cells(records: list[Record]) -> dict[str, dict[str, float]]:
    """Per-cell means of the baseline metrics."""
    return steps.cell_table(records)


@task(name="upsert-dataset", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def upsert_dataset(
    selection: Selection,
    records: list[Record],
    filters: CurateFilters,
    options: CurateOptions,
    cells: dict[str, dict[str, float]],
    plan: UpsertPlan,
) -> UpsertOutcome:
    """Records merged into the dataset by trial id; the version recorded with its filters."""
    return steps.upsert_dataset(selection, records, filters, options, cells, plan)


@task(name="export-parquet", cache_policy=NO_CACHE)
def export_parquet(
    settings: Settings, outcome: UpsertOutcome, records: list[Record], options: CurateOptions
) -> Path | None:
    """The version's records as a parquet file under the data directory."""
    return steps.export(settings, outcome, records, options)


@flow(name="curate", log_prints=True, validate_parameters=False)
def curate(
    filters: CurateFilters = ANY_TRIAL,
    options: CurateOptions = DEFAULTS,
    settings: Settings | None = None,
) -> CurateResult:
    """Turn the selected trials into records of a versioned evaluation dataset.

    Args:
        filters: Which trials: by task, archetype, model, quant, cell, status, sweep and
            start time; default every finished trial.
        options: Dataset name, trimming budgets, loop rule, parquet export.
        settings: benchlab settings; default read from the environment.
    """
    # A run started from the Prefect UI passes the forms' values as plain dicts.
    filters = CurateFilters.model_validate(filters)
    options = CurateOptions.model_validate(options)
    settings = settings or get_settings()
    selection = select_trials(settings, filters, options)
    plan = plan_dataset(selection, filters, options)
    records = build_records(settings, selection, options, plan)
    runs_updated = log_baseline_metrics(selection, records)
    cells = aggregate_cells(records)
    outcome = upsert_dataset(selection, records, filters, options, cells, plan)
    parquet = export_parquet(settings, outcome, records, options)
    notes = (MISSING_PYARROW,) if options.parquet and not parquet_available() else ()
    return CurateResult(
        dataset=outcome.ref.name,
        version=outcome.ref.version,
        dataset_id=outcome.dataset_id,
        run_id=outcome.run_id,
        records=outcome.records,
        new_records=outcome.new,
        existing_records=outcome.existing,
        already_curated=outcome.already_curated,
        runs_updated=runs_updated,
        parquet_path=parquet,
        notes=notes,
        cells=cells,
    )
