"""Selecting trial runs straight from a SQL tracking store, in a few set-based queries.

``MlflowClient.search_runs`` builds every run whole (all its tags, params and latest
metrics as entities), page by page: about 5 ms a run on sqlite. Curation needs a few
columns and tags of each run, so on a SQL store (sqlite, postgres, mysql) it reads
just those through MLflow's own table models, three queries in all, and applies the
same filters as :func:`benchlab.curate.select.search_trials` (same runs, same order).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from benchlab.curate.baseline import PREFIX
from benchlab.curate.filters import TAG_FIELDS, CurateFilters, millis
from benchlab.curate.select import SelectedTrial

if TYPE_CHECKING:
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

REFERENCE_TAGS = ("kind", "trial_id", "trace_id")
"""The run tags every selection reads; the filters' own tags are read when set."""


def sql_store() -> SqlAlchemyStore | None:
    """The configured tracking store when it is a SQL database, else None (an HTTP
    tracking server, whose runs only its REST API returns)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    from mlflow.tracking._tracking_service.utils import _get_store

    store = _get_store()
    return store if isinstance(store, SqlAlchemyStore) else None


def _candidates(experiment_ids: list[str], filters: CurateFilters) -> Any:
    """The runs a ``tags.kind = 'trial'`` search with the time filters returns, and
    that are finished: a subquery of run ids, start times and artifact URIs."""
    from mlflow.entities import LifecycleStage
    from mlflow.store.tracking.dbmodels.models import SqlRun, SqlTag
    from sqlalchemy import and_, select

    query: Any = (
        select(SqlRun.run_uuid, SqlRun.start_time, SqlRun.artifact_uri)
        .join(
            SqlTag,
            and_(SqlTag.run_uuid == SqlRun.run_uuid, SqlTag.key == "kind", SqlTag.value == "trial"),
        )
        .where(
            SqlRun.experiment_id.in_([int(e) for e in experiment_ids]),
            SqlRun.lifecycle_stage == LifecycleStage.ACTIVE,
            SqlRun.status == "FINISHED",
        )
    )
    if filters.since is not None:
        query = query.where(SqlRun.start_time >= millis(filters.since))
    if filters.until is not None:
        query = query.where(SqlRun.start_time < millis(filters.until))
    return query.subquery()


def _passes(tags: dict[str, str], filters: CurateFilters) -> bool:
    """The store's filter (one-valued fields, exact and case-sensitive) and the rest."""
    if tags.get("kind") != "trial":
        return False
    for field, tag in TAG_FIELDS.items():
        values = filters.accepted(field)
        if len(values) == 1 and tags.get(tag) != values[0]:
            return False
    return filters.matches(tags)


def query_trials(
    store: SqlAlchemyStore,
    experiment_ids: list[str],
    filters: CurateFilters,
    with_baseline: bool = True,
) -> list[SelectedTrial]:
    """The finished trial runs that pass the filters, oldest first (then by run id).

    Args:
        store: A SQL tracking store (see :func:`sql_store`).
        experiment_ids: The experiments to search.
        filters: Which trials.
        with_baseline: Also read each run's latest ``baseline.*`` metrics.
    """
    from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlTag
    from sqlalchemy import select

    runs = _candidates(experiment_ids, filters)
    wanted = [*REFERENCE_TAGS, *(tag for f, tag in TAG_FIELDS.items() if filters.accepted(f))]
    tags: dict[str, dict[str, str]] = defaultdict(dict)
    logged: dict[str, dict[str, float]] = defaultdict(dict)
    with store.ManagedSessionMaker() as session:
        rows = session.execute(
            select(runs.c.run_uuid, runs.c.start_time, runs.c.artifact_uri).order_by(
                runs.c.start_time, runs.c.run_uuid
            )
        ).all()
        tag_rows = session.execute(
            select(SqlTag.run_uuid, SqlTag.key, SqlTag.value).where(
                SqlTag.key.in_(wanted), SqlTag.run_uuid.in_(select(runs.c.run_uuid))
            )
        )
        for run_id, key, value in tag_rows:
            tags[run_id][key] = value
        if with_baseline:
            metric_rows = session.execute(
                select(
                    SqlLatestMetric.run_uuid,
                    SqlLatestMetric.key,
                    SqlLatestMetric.value,
                    SqlLatestMetric.is_nan,
                ).where(
                    SqlLatestMetric.key.startswith(PREFIX),
                    SqlLatestMetric.run_uuid.in_(select(runs.c.run_uuid)),
                )
            )
            for run_id, key, value, is_nan in metric_rows:
                logged[run_id][key] = math.nan if is_nan else float(value)
    return [
        SelectedTrial(
            run_id=run_id,
            trial_id=tags[run_id].get("trial_id", run_id),
            trace_id=tags[run_id].get("trace_id", ""),
            start_time_ms=int(start or 0),
            artifact_uri=str(uri),
            logged=logged.get(run_id, {}),
        )
        for run_id, start, uri in rows
        if _passes(tags[run_id], filters)
    ]
