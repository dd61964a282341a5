"""Finding the trial runs a curation takes, and reading each one's full record."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse
from urllib.request import url2pathname

from benchlab.curate.baseline import PREFIX
from benchlab.curate.filters import CurateFilters
from benchlab.curate.reading import read_trial
from benchlab.errors import BenchlabError
from benchlab.results import TrialResult

if TYPE_CHECKING:
    from mlflow import MlflowClient

RESULT_ARTIFACT = "result.json"
"""The artifact of a trial run that holds its full :class:`TrialResult`."""


@dataclass(frozen=True)
class SelectedTrial:
    """A trial run that passed the filters."""

    run_id: str
    trial_id: str
    trace_id: str
    start_time_ms: int
    artifact_uri: str
    """Where the run's artifacts are."""
    logged: dict[str, float]
    """The ``baseline.*`` metrics the run already holds (latest values)."""


def search_trials(
    client: MlflowClient, experiment_ids: list[str], filters: CurateFilters, page_size: int
) -> Iterator[SelectedTrial]:
    """The finished trial runs that pass the filters, oldest first, a page at a time.

    Runs not yet finished (a sweep still logging, or a run cut while it was logged) are
    left out: their artifacts may be incomplete.
    """
    token: str | None = None
    while True:
        page = client.search_runs(
            experiment_ids,
            filters.filter_string(),
            max_results=page_size,
            order_by=["attributes.start_time ASC", "attributes.run_id ASC"],
            page_token=token,
        )
        for run in page:
            tags = run.data.tags
            if run.info.status != "FINISHED" or not filters.matches(tags):
                continue
            yield SelectedTrial(
                run_id=run.info.run_id,
                trial_id=tags.get("trial_id", run.info.run_id),
                trace_id=tags.get("trace_id", ""),
                start_time_ms=int(run.info.start_time or 0),
                artifact_uri=str(run.info.artifact_uri),
                logged={k: v for k, v in run.data.metrics.items() if k.startswith(PREFIX)},
            )
        token = page.token
        if not token:
            return


def local_result_path(artifact_uri: str) -> Path | None:
    """The ``result.json`` path under a ``file:`` artifact URI (or a plain path); None
    for a remote artifact store."""
    parsed = urlparse(artifact_uri)
    if parsed.scheme not in ("", "file") or parsed.netloc not in ("", "localhost"):
        return None
    return Path(url2pathname(parsed.path)) / RESULT_ARTIFACT


def load_result(artifact_uri: str) -> TrialResult:
    """The trial's record, from the ``result.json`` under its run's artifact URI, as
    curation reads it (without request bodies: see :mod:`benchlab.curate.reading`).

    A local artifact store is read in place; any other is downloaded to a temp dir.

    Raises:
        BenchlabError: The run has no readable ``result.json``.
    """
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

    try:
        repo = get_artifact_repository(artifact_uri)
        if isinstance(repo, LocalArtifactRepository):
            text = Path(repo.download_artifacts(RESULT_ARTIFACT)).read_bytes()
        else:
            with tempfile.TemporaryDirectory(prefix="benchlab-curate-") as tmp:
                path = repo.download_artifacts(RESULT_ARTIFACT, tmp)
                text = Path(path).read_bytes()
    except Exception as exc:
        # MLflow raises its own errors or an OSError, depending on the artifact store.
        raise BenchlabError(f"{artifact_uri}: cannot read {RESULT_ARTIFACT}: {exc}") from exc
    return read_trial(text)
