"""The records of one curated dataset version, read back from MLflow.

A dataset accumulates every curation into it; a version is the set of trial ids its
companion run lists. The version's records are the dataset's records of those trials.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from benchlab.curate.dataset import TRIAL_IDS_ARTIFACT, find_dataset, find_version_run
from benchlab.curate.version import DatasetRef
from benchlab.errors import BenchlabError, UsageError

LATEST_TAG = "benchlab.latest_version"
VERSION_TAG = "benchlab.version."

Record = dict[str, Any]


def _dataset_names() -> list[str]:
    from mlflow.genai.datasets import search_datasets

    return sorted({d.name for d in search_datasets(max_results=1000)})


def resolve(text: str, experiment_id: str) -> tuple[DatasetRef, str]:
    """The version ``text`` names (``NAME`` for its latest) and its curation run id.

    Raises:
        UsageError: No such dataset or version; the message lists the valid ones.
    """
    from mlflow import MlflowClient

    name, sep, version = text.strip().partition("@")
    dataset = find_dataset(name) if name else None
    if dataset is None:
        listed = ", ".join(_dataset_names()) or "(none: run `benchlab curate` first)"
        raise UsageError(f"unknown dataset {name!r}; valid: {listed}")
    tags = dataset.tags or {}
    versions = sorted(k.removeprefix(VERSION_TAG) for k in tags if k.startswith(VERSION_TAG))
    if not sep:
        version = tags.get(LATEST_TAG, "")
        if not version:
            raise UsageError(f"dataset {name!r} has no recorded version; run `benchlab curate`")
    ref = DatasetRef.parse(f"{name}@{version}") if version in versions else None
    run_id = find_version_run(MlflowClient(), experiment_id, ref) if ref else None
    if ref is None or run_id is None:
        listed = ", ".join(f"{name}@{v}" for v in versions) or "(none)"
        raise UsageError(f"unknown version {version!r} of dataset {name!r}; valid: {listed}")
    return ref, run_id


def _trial_ids(run_id: str) -> list[str]:
    from mlflow import MlflowClient

    with tempfile.TemporaryDirectory(prefix="benchlab-evaluate-") as tmp:
        try:
            path = MlflowClient().download_artifacts(run_id, TRIAL_IDS_ARTIFACT, tmp)
            ids = json.loads(Path(path).read_text(encoding="utf-8"))
        except Exception as exc:
            # MLflow raises its own errors or an OSError, depending on the artifact store.
            raise BenchlabError(f"run {run_id}: cannot read {TRIAL_IDS_ARTIFACT}: {exc}") from exc
    return [str(i) for i in ids]


def _plain(value: Any) -> Any:
    # Records come back through pandas; nested values stay JSON-like, but NaN marks absence.
    return value if isinstance(value, dict) else {}


def load_records(ref: DatasetRef, run_id: str) -> list[Record]:
    """The version's records, in the order its curation listed the trials.

    Raises:
        BenchlabError: A trial of the version has no record in the dataset any more.
    """
    from mlflow.genai.datasets import get_dataset

    wanted = _trial_ids(run_id)
    frame = get_dataset(name=ref.name).to_df()
    by_trial: dict[str, Record] = {}
    for row in frame.to_dict(orient="records"):
        inputs = _plain(row.get("inputs"))
        record = {
            "inputs": inputs,
            "outputs": _plain(row.get("outputs")),
            "expectations": _plain(row.get("expectations")),
            "tags": _plain(row.get("tags")),
        }
        by_trial[str(inputs.get("trial_id", ""))] = record
    missing = [t for t in wanted if t not in by_trial]
    if missing:
        raise BenchlabError(
            f"{ref}: {len(missing)} trial(s) of this version have no record in the dataset "
            f"(first: {missing[0]})"
        )
    return [by_trial[t] for t in wanted]
