"""Where secrets could end up, read back in full: MLflow (runs, traces, artifacts,
datasets), Prefect (flow and task runs, logs, artifacts) and every file under a tree.

Each source yields ``(where, text)`` pairs; :func:`leaks` names every place a marker
appears. Files are read as bytes, and containers whose bytes hide their text (parquet,
gzip) are decoded first.
"""

from __future__ import annotations

import gzip
import json
import secrets
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

PREFIX = "BENCHLAB-SECRET-MARKER"


def marker(purpose: str) -> str:
    """A fresh marker string naming what it stands in for."""
    return f"{PREFIX}-{purpose}-{secrets.token_hex(8)}"


Found = tuple[str, str]
"""Where a text came from, and the text."""


def leaks(sources: Iterable[Found], markers: Mapping[str, str]) -> list[str]:
    """``where: purpose`` for every marker found in every text (``markers``: purpose ->
    value). The bare prefix is searched too, so a marker cut short still shows."""
    found = []
    for where, text in sources:
        for purpose, value in markers.items():
            if value in text:
                found.append(f"{where}: {purpose}")
        if PREFIX in text and not any(v in text for v in markers.values()):
            found.append(f"{where}: a marker prefix")
    return found


def file_texts(root: Path, *, skip: Iterable[Path] = ()) -> Iterator[Found]:
    """Every regular file under ``root`` (but ``skip``), decoded where it is packed."""
    skipped = {p.resolve() for p in skip}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink() or path.resolve() in skipped:
            continue
        data = path.read_bytes()
        yield str(path), data.decode("latin-1")
        if path.suffix == ".parquet":
            import pandas as pd

            yield f"{path} (rows)", pd.read_parquet(path).to_json(default_handler=str)
        elif data[:2] == b"\x1f\x8b":
            yield f"{path} (gunzipped)", gzip.decompress(data).decode("latin-1")


def mlflow_texts(download_to: Path) -> Iterator[Found]:
    """Everything of the current MLflow tracking store: per run its params, tags, metric
    names and every artifact file; every trace in full; every evaluation dataset."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.genai.datasets import search_datasets

    client = MlflowClient()
    experiments = client.search_experiments()
    ids = [e.experiment_id for e in experiments]
    for experiment in experiments:
        yield f"experiment {experiment.name}", json.dumps(dict(experiment.tags))
    for run in client.search_runs(ids, max_results=5000):
        run_id = run.info.run_id
        data = run.data
        text = json.dumps({"params": data.params, "tags": data.tags, "metrics": list(data.metrics)})
        yield f"run {run_id} params/tags/metrics", f"{run.info.run_name} {text}"
        if client.list_artifacts(run_id):
            local = Path(mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(
                download_to / run_id)))  # fmt: skip
            for where, body in file_texts(local):
                yield f"run {run_id} artifact {where}", body
    for trace in mlflow.search_traces(locations=ids, return_type="list", max_results=5000):
        yield f"trace {trace.info.trace_id}", trace.to_json()
    for dataset in search_datasets(experiment_ids=ids):
        name = dataset.name
        records = mlflow.genai.datasets.get_dataset(name=name).to_df()
        yield f"dataset {name}", records.to_json(default_handler=str)


PREFECT_READS: dict[str, dict[str, object]] = {
    "flow_runs": {"sort": "ID_DESC"},
    "task_runs": {"sort": "ID_DESC"},
    "logs": {"sort": "TIMESTAMP_ASC"},
    "artifacts": {"sort": "ID_DESC", "flow_runs": {}, "task_runs": {}},
}
"""Each Prefect collection read back, with the filter body its endpoint accepts."""


def prefect_texts() -> Iterator[Found]:
    """Everything the current Prefect API holds of runs: flow runs (parameters), task
    runs (inputs), logs (flushed first) and artifacts, page by page."""
    import httpx
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL

    APILogWorker.drain_all(timeout=30)
    api = str(PREFECT_API_URL.value()).rstrip("/")
    for name, body in PREFECT_READS.items():
        offset = 0
        while True:
            answer = httpx.post(
                f"{api}/{name}/filter", json={**body, "limit": 200, "offset": offset}, timeout=60
            )
            answer.raise_for_status()
            page = answer.json()
            if not page:
                break
            yield f"prefect {name} {offset}+", json.dumps(page)
            offset += len(page)
