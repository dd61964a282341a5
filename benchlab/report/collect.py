"""Trial runs from MLflow as a typed table: one row per trial."""

from __future__ import annotations

from typing import Any

import pandas as pd

from benchlab.errors import unknown_name
from benchlab.report.configs import CONFIG_KEYS, config_label
from benchlab.results import TrialStatus

BUILD_PARAM = "engine.build.sha"
"""The run param that tells engine builds apart (see ``tracing.params_for``)."""

TAG_COLUMNS = ("task", "archetype", "status", *CONFIG_KEYS, "sweep", "trial_id")
"""Tags copied to columns of the same name (empty string when absent)."""

BASE_COLUMNS = ("run_id", "start_time", *TAG_COLUMNS, "repeat", "passed", "config")
"""The columns every trial table has; metrics follow under their own dotted names
(``trial.wall_s``, ``judge.correctness``) and params as ``params.<name>``."""


def experiment_id(experiment: str) -> str:
    """The id of the experiment named (or numbered) ``experiment``.

    Raises:
        UsageError: When there is no such experiment; the message lists the valid names.
    """
    from mlflow import MlflowClient

    client = MlflowClient()
    found = client.get_experiment_by_name(experiment)
    if found is None and experiment.isdigit():
        try:
            found = client.get_experiment(experiment)
        except Exception:  # MLflow raises its own error for a missing id
            found = None
    if found is None:
        names = [e.name for e in client.search_experiments()]
        raise unknown_name("experiment", experiment, names)
    return str(found.experiment_id)


def search_trials(experiment: str, sweep: str | None = None) -> pd.DataFrame:
    """The trial runs of an experiment (of one sweep, if given), as :func:`trial_table`.

    MLflow must already point at the tracking store (``benchlab.tracking.setup_tracking``).
    """
    import mlflow

    query = f"tags.sweep = '{sweep}'" if sweep else ""
    runs = mlflow.search_runs(
        experiment_ids=[experiment_id(experiment)],
        filter_string=query,
        output_format="pandas",
        max_results=100_000,
    )
    assert isinstance(runs, pd.DataFrame)
    return trial_table(runs)


def _is_trial(runs: pd.DataFrame) -> pd.Series:
    kind = _column(runs, "tags.kind")
    has_id = _column(runs, "tags.trial_id") != ""
    # Runs logged before the kind tag existed are trials when they carry a trial id.
    return (kind == "trial") | ((kind == "") & has_id)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame:
        return pd.Series("", index=frame.index, dtype="string")
    return frame[name].astype("string").fillna("")


def trial_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Turn ``mlflow.search_runs`` output into one typed row per trial run.

    Sweep-parent runs (tag ``kind=sweep``) and other non-trial runs are left out. The
    ``repeat`` column is the ``repeat`` tag; where that is missing, the trial's order
    by start time within its configuration and task.
    """
    if runs.empty or "run_id" not in runs:
        return _empty_table()
    runs = runs[_is_trial(runs)]
    table: dict[str, Any] = {
        "run_id": runs["run_id"].astype("string"),
        "start_time": pd.to_datetime(runs["start_time"], utc=True),
    }
    for tag in TAG_COLUMNS:
        table[tag] = _column(runs, f"tags.{tag}")
    frame = pd.DataFrame(table, index=runs.index)
    frame["passed"] = (frame["status"] == "passed").astype(bool)
    frame["cell"] = _cell_per_build(frame["cell"], _column(runs, f"params.{BUILD_PARAM}"))
    labels = [config_label(*parts) for parts in frame[list(CONFIG_KEYS)].itertuples(index=False)]
    frame["config"] = pd.Series(labels, index=frame.index, dtype="string")
    frame["repeat"] = pd.to_numeric(_column(runs, "tags.repeat"), errors="coerce").astype("Int64")
    order = frame.sort_values("start_time").groupby(["config", "task"]).cumcount()
    frame["repeat"] = frame["repeat"].fillna(order.astype("Int64"))
    metrics = {
        name.removeprefix("metrics."): pd.to_numeric(runs[name], errors="coerce").astype(float)
        for name in runs.columns
        if name.startswith("metrics.")
    }
    params = {
        name: runs[name].astype("string") for name in runs.columns if name.startswith("params.")
    }
    frame = pd.concat(
        [frame, pd.DataFrame(metrics, index=runs.index), pd.DataFrame(params, index=runs.index)],
        axis=1,
    )
    return frame.sort_values(["config", "task", "repeat"]).reset_index(drop=True)


def _cell_per_build(cells: pd.Series, builds: pd.Series) -> pd.Series:
    """Cells whose trials ran on more than one engine build, split by build.

    A rebuilt llama-server (other flags, another commit) is another measurement: its
    trials become their own configuration, ``cell/<build sha>``, instead of pooling with
    the old build's. A cell seen with one build keeps its plain id.
    """
    mixed = builds.groupby(cells).transform(lambda b: b[b != ""].nunique() > 1).astype(bool)
    split = cells + "/" + builds
    return cells.where(~mixed | (builds == ""), split)


ERROR_STATUS = TrialStatus.error.value
"""A trial the machine failed to run (engine, agent install, sandbox, checks that could
not start): an infrastructure error, not an attempt of the model at the task."""


def task_outcomes(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials that are attempts at the task (passed, failed, limit, timeout): what
    every rate, pairing, median and cost is computed over; errors are counted apart."""
    return trials[trials["status"] != ERROR_STATUS]


def _empty_table() -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype="string") for name in BASE_COLUMNS})
    frame["start_time"] = pd.Series(dtype="datetime64[ns, UTC]")
    frame["repeat"] = pd.Series(dtype="Int64")
    frame["passed"] = pd.Series(dtype=bool)
    return frame


def judge_columns(trials: pd.DataFrame) -> list[str]:
    """The judge score columns (``judge.<criterion>``) present in a trial table."""
    return sorted(c for c in trials.columns if c.startswith("judge."))
