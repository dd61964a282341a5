"""Curate stage time and memory on 10,000 trial runs in a sqlite MLflow store.

``uv run --frozen --no-sync python bench/curate.py [--trials 10000] [--store DIR]
[--workers 2]``; with ``--store DIR`` the store is kept and reused (populated only
when ``DIR/mlflow.db`` does not exist yet).

What is measured is the real read-and-write path of ``flows/curate.py``, step by step
(the same plain functions its tasks call), on a sqlite tracking store:

1. **populate** (child processes, not timed as curation): N trial runs with the content
   ``benchlab.tracing.log_trial`` gives them (same tags with the context tags of
   ``mlflow.start_run``, params, metrics including the ``baseline.*`` ones, and
   artifacts: ``result.json``, ``diff.patch``, check outputs) but without the trace,
   which curation does not read. The rows go into MLflow's tables through its own ORM
   models, 100 runs a transaction, ``--workers`` processes at once; first one trial is
   logged both that way and through ``MlflowClient`` into an experiment of its own, and
   populating stops unless the two runs read back the same. Each ``TrialResult`` is
   generated from the recorded pi transcript ``tests/data/transcripts/scripted.json``
   grown to realistic sizes: 4-16 model calls whose requests carry the whole growing
   conversation (pi's real system prompt and tools), tool outputs of 0.2-3 kB, diffs
   of 20-600 lines, 8 cells, 4 tasks.
2. **curate** (a fresh child process, so that its peak RSS is its own): select (SQL
   query of the store), plan the dataset (create it; may records be merged while
   built?), build records (read every ``result.json`` without request bodies, baseline
   metrics, trimming; worker processes; when the plan streams, the main process merges
   each batch of 500 into the dataset while the workers go on), log ``baseline.*``
   metrics where they differ, per-cell aggregation, dataset upsert (the content
   version, the merge unless streamed, the version run), parquet export. Wall and CPU
   seconds per step (CPU: this process and its workers), peak RSS of this process and
   of the whole process tree (sampled every 50 ms), load averages before and after.
3. **again** (another fresh process): the same curation a second time, which must find
   the version recorded and write nothing.

Prefect's own overhead (starting its temporary server) is not included.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

TEMPLATE = REPO_ROOT / "tests" / "data" / "transcripts" / "scripted.json"
CELLS = [f"cell{n}" for n in range(8)]
TASKS = ["sample", "refactor", "docs", "bugfix"]
STATUSES = ["passed", "failed", "failed", "limit", "timeout", "error"]
WORDS = [
    "def",
    "return",
    "self",
    "value",
    "index",
    "result",
    "config",
    "path",
    "error",
    "check",
    "list",
    "name",
]


_LINES = ["    " + " ".join(random.Random(n).choices(WORDS, k=3 + n % 7)) for n in range(4096)]
"""Code-like lines to draw from: drawing whole lines is ten times cheaper than words."""


def _text(rng: random.Random, chars: int) -> str:
    lines, size = [], 0
    while size < chars:
        line = _LINES[rng.getrandbits(12)]
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines)


def synthetic(template: dict[str, Any], i: int, rng: random.Random) -> dict[str, Any]:
    """One TrialResult (as JSON data) grown from the recorded transcript."""
    system = template["calls"][0]["request"]["messages"][:2]
    tools = template["calls"][0]["request"]["tools"]
    t = 1_700_000_000_000_000_000 + i * 60_000_000_000
    messages: list[dict[str, Any]] = list(system)
    calls: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    looping = rng.random() < 0.1
    n_calls = rng.randint(4, 16)
    for k in range(n_calls):
        last = k == n_calls - 1
        command = "ls" if looping and k < 3 else f"grep -n {rng.choice(WORDS)} mod{k}.py"
        args = json.dumps({"command": command})
        start, dur = t + k * 4_000_000_000, rng.randint(300, 3000) * 1_000_000
        prompt_n = sum(len(json.dumps(m)) for m in messages) // 4
        calls.append({
            "index": k, "endpoint": "chat/completions", "model": "m",
            "request": {"model": "m", "messages": list(messages), "tools": tools, "stream": True},
            "response_text": "Sorry, I could not finish." if last and rng.random() < 0.2 else
                             ("Done: " + _text(rng, 300) if last else ""),
            "tool_calls": [] if last else [{"id": f"c{k}", "name": "bash", "arguments": args}],
            "finish_reason": "stop" if last else "tool_calls",
            "usage": {"prompt_tokens": prompt_n, "completion_tokens": rng.randint(20, 400)},
            "timings": {"prompt_n": prompt_n, "prompt_ms": prompt_n / 0.4,
                        "predicted_n": 50, "predicted_ms": 50 / 0.02},
            "stream": True, "start_ns": start, "end_ns": start + dur,
            "ttft_s": rng.uniform(0.1, 2.0),
        })  # fmt: skip
        if last:
            break
        output = _text(rng, rng.randint(200, 3000))
        steps.append({"tool": "bash", "arguments": {"command": command}, "output": output,
                      "is_error": rng.random() < 0.1, "start_ns": start + dur,
                      "end_ns": start + dur + 200_000_000})  # fmt: skip
        messages = [
            *messages,
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": f"c{k}", "type": "function",
                 "function": {"name": "bash", "arguments": args}}]},
            {"role": "tool", "tool_call_id": f"c{k}", "content": output},
        ]  # fmt: skip
    patch = "\n".join(f"+{_text(rng, 30)}" for _ in range(rng.randint(20, 600))) + "\n"
    status = rng.choice(STATUSES)
    result = dict(template)
    result.update({
        "trial_id": f"bench{i:06d}", "task": rng.choice(TASKS), "cell": rng.choice(CELLS),
        "sweep": "bench", "repeat": i % 5, "key": f"k{i}", "status": status,
        "reason": "" if status == "passed" else f"{status} reason",
        "start_ns": t, "end_ns": calls[-1]["end_ns"] + 2_000_000_000,
        "calls": calls,
        "agent": {**template["agent"], "steps": steps, "final_answer": calls[-1]["response_text"]},
        "diff": {**template["diff"], "patch": patch, "insertions": patch.count("\n")},
        "engine": {"kind": "llama-server", "load_time_s": 2.5, "peak_rss_bytes": 900 * 2**20,
                   "probe": {"probe.pp_tps": 250.0, "probe.tg_tps": 20.0}},
    })  # fmt: skip
    return result


def _no_fsync() -> None:
    """Every new sqlite connection of this process commits without waiting for the disk.

    ``synchronous`` is a setting of the connection, not of the file: the store is left
    as MLflow made it, and the curation measured later runs with MLflow's defaults.
    """
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()


@dataclass(frozen=True)
class LoggedShape:
    """What ``log_trial`` writes for one trial, minus the trace."""

    name: str
    tags: dict[str, str]
    params: dict[str, str]
    metrics: dict[str, float]
    folder: Path
    """The artifacts, written as ``log_trial`` writes them."""


@functools.cache
def _context_tags() -> dict[str, str]:
    from mlflow.tracking.context.registry import resolve_tags

    return dict(resolve_tags())


def shape(i: int, template: dict[str, Any], folder: Path) -> LoggedShape:
    """Trial ``i``'s run content: the same functions ``log_trial`` calls."""
    from benchlab.curate.baseline import baseline_metrics
    from benchlab.metrics import metrics_for
    from benchlab.results import TrialResult
    from benchlab.tracing import MAX_PARAM, _write_artifacts, params_for, run_name, tags_for

    result = TrialResult.model_validate(synthetic(template, i, random.Random(i)))
    name = run_name(result)
    # The context tags (user, source) are the ones mlflow.start_run adds; the same for
    # every run of this process, so resolved once.
    tags = {**_context_tags(), **tags_for(result), "trace_id": f"tr-{i:06d}",
            "mlflow.runName": name}  # fmt: skip
    params = {k: v[:MAX_PARAM] for k, v in params_for(result).items()}
    folder.mkdir(parents=True)
    _write_artifacts(result, folder)
    return LoggedShape(name, tags, params, {**metrics_for(result), **baseline_metrics(result)},
                       folder)  # fmt: skip


def log_with_client(experiment_id: str, logged: LoggedShape) -> str:
    """One run through ``MlflowClient``, as ``log_trial`` makes it (reference path)."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient()
    run = client.create_run(experiment_id, run_name=logged.name, tags=logged.tags)
    now = int(time.time() * 1000)
    client.log_batch(
        run.info.run_id,
        metrics=[Metric(k, v, now, 0) for k, v in logged.metrics.items()],
        params=[Param(k, v) for k, v in logged.params.items()],
    )
    client.log_artifacts(run.info.run_id, str(logged.folder))
    client.set_terminated(run.info.run_id, status="FINISHED")
    return str(run.info.run_id)


def log_in_bulk(experiment_id: str, shapes: list[LoggedShape]) -> list[str]:
    """Many finished runs in one transaction, into MLflow's own tables (its ORM models):
    the rows ``create_run``, ``log_batch`` and ``set_terminated`` write (checked against
    them by :func:`check_bulk`), without their per-metric queries and three commits per
    run."""
    import uuid

    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository
    from mlflow.store.tracking.dbmodels.models import (
        SqlLatestMetric,
        SqlMetric,
        SqlParam,
        SqlRun,
        SqlTag,
    )
    from mlflow.tracking._tracking_service.utils import _get_store
    from sqlalchemy import insert

    store = _get_store()
    location = store.get_experiment(experiment_id).artifact_location
    rows: dict[Any, list[dict[str, Any]]] = {
        model: [] for model in (SqlRun, SqlTag, SqlParam, SqlMetric, SqlLatestMetric)
    }
    run_ids = []
    for logged in shapes:
        run_id = uuid.uuid4().hex
        start = int(time.time() * 1000)
        artifact_uri = f"{location.rstrip('/')}/{run_id}/artifacts"
        LocalArtifactRepository(artifact_uri).log_artifacts(str(logged.folder))
        rows[SqlRun].append({
            "name": logged.name, "artifact_uri": artifact_uri, "run_uuid": run_id,
            "experiment_id": int(experiment_id), "source_type": "UNKNOWN", "source_name": "",
            "entry_point_name": "", "user_id": logged.tags.get("mlflow.user"),
            "status": "FINISHED", "start_time": start, "end_time": int(time.time() * 1000),
            "deleted_time": None, "source_version": "", "lifecycle_stage": "active",
        })  # fmt: skip
        rows[SqlTag] += [{"key": k, "value": v, "run_uuid": run_id}
                         for k, v in logged.tags.items()]  # fmt: skip
        rows[SqlParam] += [{"key": k, "value": v, "run_uuid": run_id}
                           for k, v in logged.params.items()]  # fmt: skip
        for model in (SqlMetric, SqlLatestMetric):
            rows[model] += [{"key": k, "value": v, "timestamp": start, "step": 0,
                             "is_nan": False, "run_uuid": run_id}
                            for k, v in logged.metrics.items()]  # fmt: skip
        run_ids.append(run_id)
    with store.ManagedSessionMaker(read_only=False) as session:
        for model, values in rows.items():
            session.execute(insert(model), values)
    return run_ids


def _comparable(run_id: str) -> dict[str, Any]:
    from mlflow import MlflowClient

    client = MlflowClient()
    run = client.get_run(run_id)
    history = {k: [(m.value, m.step) for m in client.get_metric_history(run_id, k)]
               for k in run.data.metrics}  # fmt: skip
    return {
        "info": {k: v for k, v in dict(run.info).items()
                 if k not in ("run_id", "run_uuid", "artifact_uri", "start_time", "end_time")},
        "tags": run.data.tags, "params": run.data.params, "metrics": run.data.metrics,
        "history": history, "artifacts": sorted(a.path for a in client.list_artifacts(run_id)),
    }  # fmt: skip


def check_bulk(store: Path) -> None:
    """One trial logged both ways, in an experiment of its own: the runs must read back
    the same through MLflow (everything but ids and times).

    Raises:
        SystemExit: They differ.
    """
    from benchlab.settings import Settings
    from benchlab.tracking import setup_tracking

    experiment_id = setup_tracking(
        Settings(data_dir=store, mlflow_experiment="bench-populate-check")
    )
    template = json.loads(TEMPLATE.read_text())
    with tempfile.TemporaryDirectory(prefix="benchlab-bench-") as tmp:
        by_client = log_with_client(experiment_id, shape(0, template, Path(tmp) / "a"))
        (in_bulk,) = log_in_bulk(experiment_id, [shape(0, template, Path(tmp) / "b")])
    if _comparable(by_client) != _comparable(in_bulk):
        raise SystemExit(f"bulk-logged run differs: {_comparable(by_client)} != "
                         f"{_comparable(in_bulk)}")  # fmt: skip


BULK = 100
"""Runs per transaction when populating."""


def populate_part(store: Path, indices: list[int]) -> list[int]:
    """Log the trials ``indices`` as ``log_trial`` logs them, minus the trace.

    Returns:
        The size of each ``result.json`` in bytes.
    """
    from benchlab.settings import Settings
    from benchlab.tracking import setup_tracking

    _no_fsync()
    experiment_id = setup_tracking(Settings(data_dir=store))
    template = json.loads(TEMPLATE.read_text())
    sizes = []
    for start in range(0, len(indices), BULK):
        with tempfile.TemporaryDirectory(prefix="benchlab-bench-") as tmp:
            shapes = [shape(i, template, Path(tmp) / str(i)) for i in indices[start : start + BULK]]
            sizes += [(s.folder / "result.json").stat().st_size for s in shapes]
            log_in_bulk(experiment_id, shapes)
    return sizes


def populate(store: Path, trials: int, workers: int) -> dict[str, Any]:
    """Log ``trials`` trial runs as log_trial does, minus the trace, ``workers`` processes
    at once (each trial's content depends on its index alone)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from benchlab.settings import Settings
    from benchlab.tracking import setup_tracking

    setup_tracking(Settings(data_dir=store))  # the experiment, before workers race for it
    check_bulk(store)
    started = time.perf_counter()
    parts = [list(range(w, trials, workers)) for w in range(workers)]
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        sizes = [n for part in pool.map(populate_part, [store] * workers, parts) for n in part]
    return {"trials": trials, "workers": workers,
            "populate_s": round(time.perf_counter() - started, 1),
            "result_json_mean_kb": round(sum(sizes) / len(sizes) / 1024, 1),
            "result_json_max_kb": round(max(sizes) / 1024, 1)}  # fmt: skip


class TreeSampler:
    """Samples this process and all its descendants (the build's workers are children
    of a fork server) every 50 ms: peak RSS of the whole tree, and the CPU seconds
    each descendant had used when last seen."""

    def __init__(self) -> None:
        import threading

        self.peak_tree_mb = 0.0
        self.children_cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.wait(0.05):
            total = me.memory_info().rss
            for child in me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                    times = child.cpu_times()
                    self.children_cpu[child.pid] = times.user + times.system
                except psutil.Error:
                    continue  # it ended between the listing and the reading
            self.peak_tree_mb = max(self.peak_tree_mb, total / 2**20)

    def cpu_s(self) -> float:
        """CPU seconds of the descendants seen so far."""
        return sum(self.children_cpu.values())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _peak_rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def sqlite_wal() -> None:
    """Every new sqlite connection in WAL mode with ``synchronous=NORMAL``: commits no
    longer wait for the disk (a crash may lose the last commits, never corrupt)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def curate(store: Path, wal: bool) -> dict[str, Any]:
    """One curation of every trial, each step timed; peak RSS of this process.

    Imports and the tracking store's start come first, untimed: they are the cost of
    starting any benchlab process (and large here, where Python compiles every module
    on import because bytecode caching is off).
    """
    import mlflow.genai.datasets  # noqa: F401
    import pyarrow  # noqa: F401
    from mlflow import MlflowClient
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository  # noqa: F401

    from benchlab.curate import steps
    from benchlab.curate.filters import CurateFilters
    from benchlab.curate.options import CurateOptions
    from benchlab.settings import Settings
    from benchlab.tracking import setup_tracking

    if wal:
        sqlite_wal()
    settings = Settings(data_dir=store, tasks_dir=REPO_ROOT / "tasks")
    setup_tracking(settings)
    MlflowClient().search_experiments(max_results=1)
    filters, options = CurateFilters(sweeps=("bench",)), CurateOptions(dataset="bench")
    times: dict[str, float] = {}
    cpu: dict[str, float] = {}
    rss: dict[str, int] = {"after_imports": _peak_rss_mb()}
    sampler = TreeSampler()

    def timed(name: str, fn: Any, *args: Any) -> Any:
        began, used = time.perf_counter(), time.process_time() + sampler.cpu_s()
        value = fn(*args)
        times[name] = round(time.perf_counter() - began, 2)
        time.sleep(0.1)  # one more sample of the workers before they are gone
        cpu[name] = round(time.process_time() + sampler.cpu_s() - used, 2)
        rss[name] = _peak_rss_mb()
        return value

    load_before = os.getloadavg()
    began = time.perf_counter()
    selection = timed("select", steps.select, settings, filters, options)
    plan = timed("plan_dataset", steps.plan_dataset, selection, filters, options)
    # With a plan that streams, this step includes merging the records into the dataset.
    records = timed("build_records", steps.build_records, settings, selection, options, None,
                    plan)  # fmt: skip
    updated = timed("log_baseline", steps.log_baseline, selection, records)
    cells = timed("aggregate_cells", steps.cell_table, records)
    outcome = timed("upsert_dataset", steps.upsert_dataset, selection, records, filters,
                    options, cells, plan)  # fmt: skip
    parquet = timed("export", steps.export, settings, outcome, records, options)
    sampler.stop()
    return {
        "total_s": round(time.perf_counter() - began - 0.1 * len(times), 2), "steps_s": times,
        "steps_cpu_s": cpu, "peak_tree_rss_mb": round(sampler.peak_tree_mb),
        "records": outcome.records, "new": outcome.new, "runs_updated": updated,
        "streamed": plan.stream,
        "already_curated": outcome.already_curated, "version": str(outcome.ref),
        "parquet_mb": round(parquet.stat().st_size / 2**20, 1) if parquet else None,
        "peak_rss_mb": _peak_rss_mb(), "peak_rss_mb_after": rss,
        "load_avg_before": load_before, "load_avg_after": os.getloadavg(),
        "sqlite": "WAL, synchronous=NORMAL" if wal else "MLflow's default (rollback journal)",
    }  # fmt: skip


def child(*args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                          check=False)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(done.stderr[-4000:])
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--store", type=Path, help="Keep the store here (default: temp).")
    parser.add_argument("--workers", type=int, default=2, help="Processes that populate.")
    parser.add_argument(
        "--wal", action="store_true", help="Curate with sqlite in WAL mode, synchronous=NORMAL."
    )
    parser.add_argument("--phase", choices=["populate", "curate"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "populate":
        print(json.dumps(populate(args.store, args.trials, args.workers)))
        return
    if args.phase == "curate":
        print(json.dumps(curate(args.store, args.wal)))
        return
    with tempfile.TemporaryDirectory(prefix="benchlab-bench-curate-") as tmp:
        store = args.store or Path(tmp)
        if not (store / "mlflow.db").is_file():
            print(json.dumps(child("--phase", "populate", "--store", str(store),
                                   "--trials", str(args.trials),
                                   "--workers", str(args.workers))))  # fmt: skip
        wal = ["--wal"] if args.wal else []
        for label in ("first", "again"):
            print(label, json.dumps(child("--phase", "curate", "--store", str(store), *wal)))


if __name__ == "__main__":
    main()
