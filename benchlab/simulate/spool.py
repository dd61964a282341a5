"""Finished trials that could not be logged, kept on disk until the tracking server takes them.

When MLflow cannot be reached (a tracking server stopped or restarting), a finished trial
is not dropped: its :class:`~benchlab.results.TrialResult` and the paths of its extra
artifacts are written, atomically, to ``<data dir>/spool/<sweep>/<trial key>.json`` and
delivered later, oldest first. Delivery is exactly once: a complete run of the same trial
in the sweep is kept and the entry dropped, and an incomplete one (a logging attempt that
the outage cut) is deleted before the trial is logged again.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from pydantic import ValidationError

from benchlab.config.base import Frozen
from benchlab.results import TrialResult, TrialStatus
from benchlab.tracing import log_trial

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

log = logging.getLogger(__name__)

TERMINAL = frozenset(s.value for s in TrialStatus)

RETRY_FIRST_S = 1.0
"""Wait after a failed delivery before the tracking server is tried again."""
RETRY_MAX_S = 30.0
"""The longest wait between tries (the wait doubles after each failure up to this)."""


class SpooledTrial(Frozen):
    """A finished trial waiting to be logged."""

    result: TrialResult
    """The trial, as it would be logged (also its ``result.json`` artifact)."""

    extra_artifacts: tuple[Path, ...] = ()
    """Files logged beside it (agent transcript, engine log)."""

    parent_run_id: str
    """The sweep's run the trial's run is nested under."""

    experiment_id: str
    """The MLflow experiment of the sweep."""

    attempts: int = 0
    """Failed attempts to log it so far."""

    error: str = ""
    """Why the last attempt failed, in one line."""


class TrialSpool:
    """The spooled trials of one sweep, one JSON file each, under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def of_sweep(cls, state_dir: Path, sweep_id: str) -> TrialSpool:
        """The spool of ``sweep_id`` under the data directory ``state_dir``."""
        return cls(state_dir / "spool" / quote(sweep_id, safe=""))

    def path_for(self, key: str) -> Path:
        """Where the trial with ``key`` is kept (the key quoted into one file name)."""
        return self.root / f"{quote(key, safe='')}.json"

    def put(self, entry: SpooledTrial) -> Path:
        """Write ``entry`` atomically: a reader sees the whole file or none."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path_for(entry.result.key)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as out:
                out.write(entry.model_dump_json())
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return path

    def entries(self) -> list[SpooledTrial]:
        """The spooled trials, least tried first, then oldest first."""
        found: list[SpooledTrial] = []
        for path in sorted(self.root.glob("*.json")):
            try:
                found.append(SpooledTrial.model_validate_json(path.read_text()))
            except (OSError, ValidationError) as exc:
                # Kept for a person to look at: deleting it could lose a trial.
                log.warning("spooled trial %s cannot be read: %s", path, exc)
        return sorted(found, key=lambda e: (e.attempts, e.result.end_ns))

    def remove(self, key: str) -> None:
        """Forget the trial with ``key``."""
        self.path_for(key).unlink(missing_ok=True)

    def __len__(self) -> int:
        return sum(1 for _ in self.root.glob("*.json")) if self.root.is_dir() else 0


def deliver(entry: SpooledTrial, client: MlflowClient) -> str:
    """Log ``entry`` unless its sweep holds a complete run of it; returns that run's id.

    Raises:
        Exception: whatever MLflow raises while the tracking server is unreachable.
    """
    result = entry.result
    for run in _runs_of(client, entry):
        if _complete(client, run):
            return str(run.info.run_id)
        client.delete_run(run.info.run_id)  # cut by an outage: logged again below
    logged = log_trial(
        result, extra_artifacts=list(entry.extra_artifacts), parent_run_id=entry.parent_run_id
    )
    # Traces are exported in the background; one lost to the outage fails delivery here.
    if not client.get_trace(logged.trace_id).data.spans:
        raise RuntimeError(f"trace {logged.trace_id} of trial {result.key} has no spans")
    return logged.run_id


def flush(spool: TrialSpool, client: MlflowClient) -> tuple[list[str], str | None]:
    """Deliver spooled trials, oldest first, until one fails (the server is down again).

    Returns:
        The run ids delivered, and why delivery stopped (None when the spool is empty).
    """
    delivered: list[str] = []
    for entry in spool.entries():
        try:
            delivered.append(deliver(entry, client))
        except Exception as exc:  # any failure keeps the trial; it is tried again later
            error = one_line(exc)
            spool.put(entry.model_copy(update={"attempts": entry.attempts + 1, "error": error}))
            return delivered, error
        spool.remove(entry.result.key)
        log.info("spooled trial %s logged", entry.result.key)
    return delivered, None


def drain(spool: TrialSpool, wait_s: float) -> tuple[list[str], int]:
    """Deliver the spool, trying again with backoff for up to ``wait_s``.

    Returns:
        The run ids delivered, and how many trials are still spooled.
    """
    from mlflow import MlflowClient

    client = MlflowClient()
    deadline = time.monotonic() + wait_s
    delivered: list[str] = []
    wait = RETRY_FIRST_S
    while True:
        done, error = flush(spool, client)
        delivered.extend(done)
        if error is None or time.monotonic() + wait > deadline:
            left = len(spool)
            if left:
                log.warning("%d trials stay spooled in %s: %s", left, spool.root, error)
            return delivered, left
        time.sleep(wait)
        wait = min(RETRY_MAX_S, wait * 2)


def one_line(exc: BaseException) -> str:
    """An exception as one short line."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def _runs_of(client: MlflowClient, entry: SpooledTrial) -> list[Run]:
    """The runs of the entry's trial in its sweep, whatever their state."""
    result = entry.result
    query = f"tags.kind = 'trial' and tags.sweep = '{result.sweep}'"
    if "'" not in result.key:  # else every run of the sweep is read and compared here
        query += f" and tags.trial_key = '{result.key}'"
    runs = client.search_runs([entry.experiment_id], query, max_results=1000)
    return [r for r in runs if r.data.tags.get("trial_key") == result.key]


def _complete(client: MlflowClient, run: Run) -> bool:
    """Whether ``run`` is a whole trial: finished, with a status and a trace with spans."""
    tags = run.data.tags
    if run.info.status != "FINISHED" or tags.get("status") not in TERMINAL:
        return False
    trace_id = tags.get("trace_id")
    if not trace_id:
        return False
    try:
        return bool(client.get_trace(trace_id).data.spans)
    except Exception:  # no such trace: the outage cut its export
        return False
