"""Building records from ``result.json`` files in worker processes, one per CPU.

Reading a result is CPU work (JSON parsing and validation), so threads share one core;
processes use them all. A worker gets a file path and the run's ids, returns the
trimmed record (about 22 kB) and drops the full result. Workers are forked from a
server process that imported the record code once (``forkserver``), so they start in
milliseconds and share nothing with the threads of the process that asked for them.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from benchlab.curate.baseline import baseline_metrics
from benchlab.curate.options import CurateOptions
from benchlab.curate.reading import read_trial
from benchlab.curate.records import Guidelines, Record, TrialRef, build_record
from benchlab.errors import BenchlabError

CHUNK = 32
"""Trials sent to a worker at a time: fewer round trips, still an even spread."""

_guidelines: Guidelines | None = None
_options: CurateOptions | None = None


def _start_worker(tasks_dir: Path, options: CurateOptions) -> None:
    global _guidelines, _options
    _guidelines, _options = Guidelines(tasks_dir), options


def record_from_file(
    path: Path, ref: TrialRef, guidelines: Guidelines, options: CurateOptions
) -> Record:
    """The record of the trial whose ``result.json`` is at ``path``.

    Raises:
        BenchlabError: The file cannot be read.
    """
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise BenchlabError(f"{path}: cannot read {path.name}: {exc}") from exc
    result = read_trial(text)
    metrics = baseline_metrics(result, options.loop_repeats)
    return build_record(result, ref, guidelines(result.task), options, metrics)


def _record(job: tuple[str, str, str]) -> Record:
    path, run_id, trace_id = job
    assert _guidelines is not None and _options is not None, "worker not started"
    return record_from_file(Path(path), TrialRef(run_id, trace_id), _guidelines, _options)


def worker_count() -> int:
    """Worker processes for building records: the CPUs this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def build_in_processes(
    jobs: Iterable[tuple[Path, TrialRef]],
    tasks_dir: Path,
    options: CurateOptions,
    workers: int,
) -> Iterator[Record]:
    """The records of the trials, in the order given, built by ``workers`` processes.

    Args:
        jobs: Each trial's ``result.json`` path and its run.
        tasks_dir: Where the tasks' guidelines are.
        options: Trimming budgets and the loop rule.
        workers: How many processes.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["benchlab.curate.building"])
    args = ((str(path), ref.run_id, ref.trace_id) for path, ref in jobs)
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(tasks_dir, options)
    ) as pool:
        yield from pool.map(_record, args, chunksize=CHUNK)
