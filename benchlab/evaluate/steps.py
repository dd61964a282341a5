"""The steps of ``flows/evaluate.py``, as plain functions usable without Prefect."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from benchlab.curate.version import DatasetRef
from benchlab.evaluate import dataset, judges
from benchlab.evaluate.judge_server import judge_identity
from benchlab.evaluate.judges import JudgeSet
from benchlab.evaluate.publish import RESULT_ARTIFACT
from benchlab.evaluate.request import EvaluateRequest, EvaluateResult
from benchlab.evaluate.scoring import EVALUATION_KIND
from benchlab.settings import Settings
from benchlab.tracking import setup_tracking


@dataclass(frozen=True)
class Version:
    """The dataset version to score, and where it lives."""

    ref: DatasetRef
    curation_run_id: str
    experiment_id: str


def resolve(settings: Settings, request: EvaluateRequest) -> Version:
    """The version the request names (its latest when it names none).

    Raises:
        UsageError: An unknown dataset or version; the message lists the valid ones.
    """
    experiment_id = setup_tracking(settings)
    ref, run_id = dataset.resolve(request.dataset, experiment_id)
    return Version(ref, run_id, experiment_id)


def load_records(version: Version) -> list[dict[str, Any]]:
    """The version's records."""
    return dataset.load_records(version.ref, version.curation_run_id)


def load_judges(
    settings: Settings, request: EvaluateRequest, records: list[dict[str, Any]]
) -> JudgeSet:
    """The judges (compiled when saved) and graders the records need."""
    judges_dir = request.judges_dir or judges.JUDGES_DIR
    return judges.prepare(records, settings.tasks_dir, judges_dir, request.only)


def evaluation_key(
    settings: Settings, request: EvaluateRequest, version: Version, judge_set: JudgeSet
) -> str:
    """What makes two evaluations the same: version, judges and their versions, judge
    model, criteria asked for."""
    content = {
        "dataset": str(version.ref),
        "judges": judge_set.versions(),
        "judge_model": judge_identity(settings, request),
        "only": sorted(request.only),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def find_previous(version: Version, key: str) -> EvaluateResult | None:
    """The result of a finished evaluation with the same key, or None."""
    import tempfile
    from pathlib import Path

    from mlflow import MlflowClient

    client = MlflowClient()
    runs = client.search_runs(
        [version.experiment_id],
        f"tags.kind = '{EVALUATION_KIND}' and tags.evaluation_key = '{key}' "
        "and attributes.status = 'FINISHED'",
        max_results=1,
        order_by=["attributes.start_time DESC"],
    )
    if not runs:
        return None
    with tempfile.TemporaryDirectory(prefix="benchlab-evaluate-") as tmp:
        try:
            path = client.download_artifacts(runs[0].info.run_id, RESULT_ARTIFACT, tmp)
            text = Path(path).read_text(encoding="utf-8")
        except Exception:
            # An unreadable result is no reason to fail: score again instead.
            return None
    return EvaluateResult.model_validate_json(text).model_copy(update={"reused": True})
