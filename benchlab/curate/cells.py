"""Baseline metrics aggregated per engine cell: what a configuration does on average."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def by_cell(rows: Iterable[tuple[str, Mapping[str, float]]]) -> pd.DataFrame:
    """One row per cell: ``trials`` and the mean of every baseline metric.

    A metric a trial lacks (no streamed call, no engine info) is left out of that
    cell's mean rather than counted as zero; the mean of a 0/1 metric (a heuristic) is
    the share of trials it flagged.

    Args:
        rows: ``(cell, metrics)`` per trial.

    Returns:
        A DataFrame indexed by cell, sorted, with columns ``trials`` then the metrics
        in name order.
    """
    import pandas as pd

    frame = pd.DataFrame.from_records(
        [{"cell": cell, **metrics} for cell, metrics in rows], columns=None
    )
    if frame.empty:
        return pd.DataFrame(columns=["trials"]).rename_axis("cell")
    grouped = frame.groupby("cell", sort=True)
    means = grouped.mean(numeric_only=True)
    means = means[sorted(means.columns)]
    means.insert(0, "trials", grouped.size())
    return means
