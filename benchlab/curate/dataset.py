"""Upserting records into an MLflow evaluation dataset, one recorded version per curation.

Uses ``mlflow.genai.datasets`` on the configured tracking store. MLflow keys records
by a hash of their ``inputs``; ours carry the trial id, so merging a trial again
replaces its record instead of adding one. Records of a trial set no recorded version
has are merged while they are built (:mod:`benchlab.curate.streaming`); the others
only once their version is known to be new.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchlab.curate.filters import CurateFilters
from benchlab.curate.options import CurateOptions
from benchlab.curate.records import Record
from benchlab.curate.streaming import TRIAL_SET_TAG, UpsertPlan, merge, trial_set_digest
from benchlab.curate.version import DatasetRef, content_version

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.genai.datasets import EvaluationDataset

TRIAL_IDS_ARTIFACT = "trial_ids.json"
"""The companion run's list of the version's trial ids."""


@dataclass(frozen=True)
class UpsertOutcome:
    """What an upsert did."""

    ref: DatasetRef
    dataset_id: str
    run_id: str
    """The companion run that records this version."""
    records: int
    new: int
    """Records the dataset did not hold before."""
    existing: int
    """Records that replaced one of the same trial."""
    already_curated: bool
    """This version was recorded before; nothing was written."""


def find_dataset(name: str) -> EvaluationDataset | None:
    """The dataset called ``name``, or None."""
    from mlflow.genai.datasets import search_datasets

    found = search_datasets(filter_string=f"name = '{name}'", max_results=2)
    return found[0] if found else None


def _record_count(dataset_id: str) -> int:
    from mlflow.genai.datasets import get_dataset

    profile = get_dataset(dataset_id=dataset_id).profile
    return int(json.loads(profile).get("num_records", 0)) if profile else 0


def find_version_run(client: MlflowClient, experiment_id: str, ref: DatasetRef) -> str | None:
    """The run id of the curation that recorded ``ref``, or None."""
    runs = client.search_runs(
        [experiment_id],
        f"tags.kind = 'curation' and tags.dataset = '{ref.name}' "
        f"and tags.dataset_version = '{ref.version}' and attributes.status = 'FINISHED'",
        max_results=1,
    )
    return runs[0].info.run_id if runs else None


def plan_upsert(name: str, experiment_id: str, trial_ids: Iterable[str]) -> UpsertPlan:
    """The dataset ``name`` (created if needed), and whether records of these trials
    may be merged while they are built (see :mod:`benchlab.curate.streaming`)."""
    from mlflow import MlflowClient
    from mlflow.genai.datasets import create_dataset

    dataset = find_dataset(name)
    if dataset is None:
        dataset = create_dataset(
            name=name, experiment_id=experiment_id, tags={"benchlab.kind": "curated"}
        )
    digest = trial_set_digest(trial_ids)
    client, token, stream = MlflowClient(), None, True
    while stream:
        # Every version run of the dataset, finished or not: a doubt means no streaming.
        page = client.search_runs(
            [experiment_id],
            f"tags.kind = 'curation' and tags.dataset = '{name}'",
            max_results=1000,
            page_token=token,
        )
        stream = all(run.data.tags.get(TRIAL_SET_TAG) not in (None, digest) for run in page)
        token = page.token
        if not token:
            break
    return UpsertPlan(name, dataset.dataset_id, stream, _record_count(dataset.dataset_id))


def _record_version(
    client: MlflowClient,
    experiment_id: str,
    outcome: UpsertOutcome,
    filters: CurateFilters,
    options: CurateOptions,
    trial_ids: list[str],
    cells: dict[str, Any],
) -> str:
    from mlflow.entities import Metric, Param

    run = client.create_run(
        experiment_id,
        run_name=f"curate {outcome.ref}",
        tags={
            "kind": "curation",
            "dataset": outcome.ref.name,
            "dataset_version": outcome.ref.version,
            "dataset_id": outcome.dataset_id,
            TRIAL_SET_TAG: trial_set_digest(trial_ids),
        },
    )
    params = {
        **filters.as_params(),
        "dataset": str(outcome.ref),
        **{f"options.{k}": str(v) for k, v in options.model_dump(exclude={"dataset"}).items()},
    }
    counts = {"records": outcome.records, "records.new": outcome.new,
              "records.existing": outcome.existing}  # fmt: skip
    client.log_batch(
        run.info.run_id,
        metrics=[Metric(k, float(v), 0, 0) for k, v in counts.items()],
        params=[Param(k, v[:500]) for k, v in sorted(params.items())],
    )
    with tempfile.TemporaryDirectory(prefix="benchlab-curation-") as tmp:
        (Path(tmp) / TRIAL_IDS_ARTIFACT).write_text(json.dumps(sorted(trial_ids)))
        (Path(tmp) / "cells.json").write_text(json.dumps(cells, indent=1, sort_keys=True))
        client.log_artifacts(run.info.run_id, tmp)
    client.set_terminated(run.info.run_id, status="FINISHED")
    return str(run.info.run_id)


def upsert(
    records: list[Record],
    name: str,
    experiment_id: str,
    filters: CurateFilters,
    options: CurateOptions,
    cells: dict[str, Any],
    plan: UpsertPlan | None = None,
) -> UpsertOutcome:
    """Merge the records into the dataset ``name`` (created if needed) and record the
    version they make; a version recorded before is left as it is.

    Args:
        records: The curation's records.
        name: The dataset's name.
        experiment_id: The experiment the dataset and its companion runs belong to.
        filters: The selection that produced the records, recorded with the version.
        options: The curation's options, recorded with the version.
        cells: Per-cell aggregates, kept as an artifact of the version's run.
        plan: The plan the records were built under; when it streamed, they are in
            the dataset already.
    """
    from mlflow import MlflowClient

    client = MlflowClient()
    ref = DatasetRef(name, content_version(records))
    if plan is None:
        plan = plan_upsert(name, experiment_id, (str(r["inputs"]["trial_id"]) for r in records))
        plan = replace(plan, stream=False)
    done = find_version_run(client, experiment_id, ref)
    if done is not None:
        # Streamed records of a recorded version are the same records again.
        return UpsertOutcome(ref, plan.dataset_id, done, len(records), 0, len(records), True)
    if not plan.stream:
        from mlflow.genai.datasets import get_dataset

        merge(get_dataset(dataset_id=plan.dataset_id), records)
    new = _record_count(plan.dataset_id) - plan.records_before
    outcome = UpsertOutcome(ref, plan.dataset_id, "", len(records), new, len(records) - new, False)
    trial_ids = [str(r["inputs"]["trial_id"]) for r in records]
    run_id = _record_version(client, experiment_id, outcome, filters, options, trial_ids, cells)
    client.set_dataset_tags(
        plan.dataset_id,
        {"benchlab.latest_version": ref.version, f"benchlab.version.{ref.version}": run_id},
    )
    return UpsertOutcome(ref, plan.dataset_id, run_id, len(records), new, len(records) - new,
                         False)  # fmt: skip
