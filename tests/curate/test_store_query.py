"""The SQL selection picks exactly the runs MLflow's run search and the filters pick."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime

import pytest

from benchlab.curate.filters import CurateFilters
from benchlab.curate.select import SelectedTrial, search_trials
from benchlab.curate.store_query import query_trials, sql_store

T0 = 1_750_000_000_000  # ms


@pytest.fixture(scope="module")
def experiment(mlflow_experiment: str) -> str:
    """An experiment of its own in the session's sqlite store, holding runs that differ
    in every way the selection looks at."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient()
    experiment_id = client.create_experiment(f"store-query-{uuid.uuid4().hex[:8]}")
    tasks, models, cells = ["sample", "docs", "Sample"], ["a", "b"], ["c1", "c2", "C1"]
    statuses = ["passed", "failed", "limit"]
    for n in range(36):
        tags = {
            "kind": "trial" if n % 9 else ("Trial" if n % 2 else "curation"),
            "task": tasks[n % 3],
            "model": models[n % 2],
            "cell": cells[(n // 2) % 3],
            "status": statuses[(n // 3) % 3],
            "sweep": "s1" if n < 20 else "s2",
            "archetype": "feature_implementation",
            "trial_id": f"t{n}",
            "trace_id": f"tr-{n}",
        }
        if n == 5:
            del tags["model"]
        # Equal start times: the order falls back to the run id.
        run = client.create_run(experiment_id, start_time=T0 + (n // 4) * 1000, tags=tags)
        run_id = run.info.run_id
        if n % 4 == 1:
            metrics = [Metric("baseline.turns", float(n), 0, 0), Metric("accuracy", 1.0, 0, 0),
                       Metric("baseline.loops", math.nan, 0, 0)]  # fmt: skip
            client.log_batch(run_id, metrics=metrics)
            client.log_metric(run_id, "baseline.turns", float(n + 1), timestamp=1, step=1)
        if n % 7 == 3:
            continue  # still running
        client.set_terminated(run_id, status="FAILED" if n % 11 == 4 else "FINISHED")
        if n % 13 == 6:
            client.delete_run(run_id)
    return str(experiment_id)


def _comparable(trials: list[SelectedTrial]) -> list[tuple[object, ...]]:
    # NaN is never equal to itself: compare it by name.
    return [
        (t.run_id, t.trial_id, t.trace_id, t.start_time_ms, t.artifact_uri,
         {k: "nan" if math.isnan(v) else v for k, v in t.logged.items()})
        for t in trials
    ]  # fmt: skip


FILTERS = [
    CurateFilters(),
    CurateFilters(sweeps=("s1",)),
    CurateFilters(tasks=("sample",)),
    CurateFilters(tasks=("sample", "docs"), models=("b",)),
    CurateFilters(cells=("c1", "C1"), statuses=("passed", "limit")),  # type: ignore[arg-type]
    CurateFilters(models=("a",), sweeps=("s2",), archetypes=("feature_implementation",)),
    CurateFilters(since=datetime.fromtimestamp((T0 + 2000) / 1000, UTC)),
    CurateFilters(
        until=datetime.fromtimestamp((T0 + 6000) / 1000, UTC),
        since=datetime.fromtimestamp((T0 + 1000) / 1000, UTC),
        tasks=("Sample", "docs"),
    ),
    CurateFilters(quants=("q4",)),
    CurateFilters(tasks=("nothing",)),
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: f.filter_string()[17:] or "any")
def test_the_sql_selection_is_the_run_search(experiment: str, filters: CurateFilters) -> None:
    from mlflow import MlflowClient

    store = sql_store()
    assert store is not None, "the session's sqlite store is a SQL store"
    searched = list(search_trials(MlflowClient(), [experiment], filters, page_size=7))
    queried = query_trials(store, [experiment], filters)
    assert _comparable(queried) == _comparable(searched)


def test_the_fixture_covers_what_it_should(experiment: str) -> None:
    from mlflow import MlflowClient

    every = list(search_trials(MlflowClient(), [experiment], CurateFilters(), page_size=100))
    # Not kind=trial (4), running (5), failed (1 more), deleted (2 more) are left out.
    assert 10 < len(every) < 36
    assert any(t.logged for t in every) and any(not t.logged for t in every)
    assert len({t.start_time_ms for t in every}) < len(every)


def test_without_baseline_no_metrics_are_read(experiment: str) -> None:
    store = sql_store()
    assert store is not None
    trials = query_trials(store, [experiment], CurateFilters(), with_baseline=False)
    assert trials and all(t.logged == {} for t in trials)
