"""Curate stage time and memory on 10,000 trial runs in a sqlite MLflow store.

``uv run --frozen --no-sync python bench/curate.py [--trials 10000] [--store DIR]``

What is measured is the real read-and-write path of ``flows/curate.py``, step by step
(the same plain functions its tasks call), on a temporary sqlite tracking store:

1. **populate** (child process, not timed as curation): N trial runs made the way
   ``benchlab.tracing.log_trial`` makes them (same tags, params, metrics and the full
   ``result.json`` artifact) but without the trace, which curation does not read. Each
   ``TrialResult`` is generated from the recorded pi transcript
   ``tests/data/transcripts/scripted.json`` grown to realistic sizes: 4-16 model calls
   whose requests carry the whole growing conversation (pi's real system prompt and
   tools), tool outputs of 0.2-3 kB, diffs of 20-600 lines, 8 cells, 4 tasks.
2. **curate** (a fresh child process, so that its peak RSS is its own): select (paged
   run search), build records (download and parse every ``result.json``, baseline
   metrics, trimming), log ``baseline.*`` metrics on every run, per-cell aggregation,
   dataset upsert (``mlflow.genai.datasets``), parquet export.
3. **again** (another fresh process): the same curation a second time, which must find
   the version recorded and write nothing.

Prefect's own overhead (starting its temporary server) is not included.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
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


def _text(rng: random.Random, chars: int) -> str:
    lines, size = [], 0
    while size < chars:
        line = "    " + " ".join(rng.choices(WORDS, k=rng.randint(3, 9)))
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines)


def synthetic(template: dict[str, Any], i: int, rng: random.Random) -> dict[str, Any]:
    """One TrialResult (as JSON data) grown from the recorded transcript."""
    system = template["calls"][0]["request"]["messages"][:2]
    tools = template["calls"][0]["request"]["tools"]
    t = 1_700_000_000_000_000_000 + i * 60_000_000_000
    messages: list[dict[str, Any]] = list(system)
    calls, steps = [], []
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


def populate(store: Path, trials: int) -> dict[str, Any]:
    """Log ``trials`` trial runs as log_trial does, minus the trace."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    from benchlab.metrics import metrics_for
    from benchlab.results import TrialResult
    from benchlab.settings import Settings
    from benchlab.tracing import params_for, run_name, tags_for
    from benchlab.tracking import setup_tracking

    experiment_id = setup_tracking(Settings(data_dir=store))
    client = MlflowClient()
    template = json.loads(TEMPLATE.read_text())
    rng = random.Random(7)
    sizes = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(trials):
            result = TrialResult.model_validate(synthetic(template, i, rng))
            tags = {**tags_for(result), "trace_id": f"tr-{i:06d}"}
            run = client.create_run(experiment_id, run_name=run_name(result), tags=tags)
            client.log_batch(
                run.info.run_id,
                metrics=[Metric(k, v, 0, 0) for k, v in metrics_for(result).items()],
                params=[Param(k, v[:500]) for k, v in params_for(result).items()],
                tags=[RunTag("mlflow.runName", run_name(result))],
            )
            path = Path(tmp) / "result.json"
            path.write_text(result.model_dump_json(indent=2))
            sizes.append(path.stat().st_size)
            client.log_artifact(run.info.run_id, str(path))
            client.set_terminated(run.info.run_id, status="FINISHED")
    return {"trials": trials, "populate_s": time.perf_counter() - started,
            "result_json_mean_kb": sum(sizes) / len(sizes) / 1024,
            "result_json_max_kb": max(sizes) / 1024}  # fmt: skip


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
    rss: dict[str, int] = {"after_imports": _peak_rss_mb()}

    def timed(name: str, fn: Any, *args: Any) -> Any:
        began = time.perf_counter()
        value = fn(*args)
        times[name] = round(time.perf_counter() - began, 2)
        rss[name] = _peak_rss_mb()
        return value

    began = time.perf_counter()
    selection = timed("select", steps.select, settings, filters, options)
    records = timed("build_records", steps.build_records, settings, selection, options)
    updated = timed("log_baseline", steps.log_baseline, selection, records)
    cells = timed("aggregate_cells", steps.cell_table, records)
    outcome = timed("upsert_dataset", steps.upsert_dataset, selection, records, filters,
                    options, cells)  # fmt: skip
    parquet = timed("export", steps.export, settings, outcome, records, options)
    return {
        "total_s": round(time.perf_counter() - began, 2), "steps_s": times,
        "records": outcome.records, "new": outcome.new, "runs_updated": updated,
        "already_curated": outcome.already_curated, "version": str(outcome.ref),
        "parquet_mb": round(parquet.stat().st_size / 2**20, 1) if parquet else None,
        "peak_rss_mb": _peak_rss_mb(), "peak_rss_mb_after": rss,
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
    parser.add_argument(
        "--wal", action="store_true", help="Curate with sqlite in WAL mode, synchronous=NORMAL."
    )
    parser.add_argument("--phase", choices=["populate", "curate"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "populate":
        print(json.dumps(populate(args.store, args.trials)))
        return
    if args.phase == "curate":
        print(json.dumps(curate(args.store, args.wal)))
        return
    with tempfile.TemporaryDirectory(prefix="benchlab-bench-curate-") as tmp:
        store = args.store or Path(tmp)
        if not (store / "mlflow.db").is_file():
            print(json.dumps(child("--phase", "populate", "--store", str(store),
                                   "--trials", str(args.trials))))  # fmt: skip
        wal = ["--wal"] if args.wal else []
        for label in ("first", "again"):
            print(label, json.dumps(child("--phase", "curate", "--store", str(store), *wal)))


if __name__ == "__main__":
    main()
