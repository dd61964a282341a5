"""The leaderboard: one row per configuration, overall, per archetype and per task.

Every row has the trial count (task outcomes: passed, failed, limit, timeout), the
infrastructure errors apart (never in a rate, a median or a cost), passes, the pass rate
with its Wilson interval,
unbiased pass@k and pass^k for k up to the fewest repeats of a task, each judge's mean
score with a bootstrap interval, medians of the speed, size and effort metrics (under
the metric's own name), and cost.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from benchlab.report.collect import judge_columns, task_outcomes
from benchlab.report.configs import CONFIG_KEYS
from benchlab.report.cost import Prices, trial_costs
from benchlab.report.stats import bootstrap_mean_interval, pass_at_k, pass_hat_k, wilson_interval

SCOPES = ("overall", "archetype", "task")
"""Row groups: all tasks together, each archetype, each task."""

MEDIANS = (
    "turns",
    "tokens.input",
    "tokens.output",
    "ttft.p50_s",
    "speed.pp_tps",
    "speed.tg_tps",
    "engine.load_time_s",
    "engine.peak_rss_mb",
    "engine.peak_vram_mb",
    "trial.wall_s",
)
"""Metrics summarized by their median (absent ones are left out)."""

TOTALS = ("tokens.input", "tokens.output")
"""Metrics also summed over the configuration's trials (``<metric>.total``): what a user
pays for is the total, not the median."""


def _pass_k(group: pd.DataFrame) -> dict[str, float]:
    per_task = group.groupby("task")["passed"].agg(["size", "sum"])
    k_max = int(per_task["size"].min())
    row: dict[str, float] = {"repeats": float(k_max)}
    rows = list(per_task.itertuples(index=False, name=None))
    # Each task weighs the same, however many repeats it has.
    for k in range(1, k_max + 1):
        row[f"pass@{k}"] = sum(pass_at_k(int(n), int(c), k) for n, c in rows) / len(rows)
    for k in range(1, k_max + 1):
        row[f"pass^{k}"] = sum(pass_hat_k(int(n), int(c), k) for n, c in rows) / len(rows)
    return row


def _summary(group: pd.DataFrame, judges: list[str], level: float, seed: int) -> dict[str, Any]:
    # Errors are counted apart; everything else (n, pass rates, pass@k, judges, speed,
    # cost) is over task outcomes only: a machine that failed is not a model that did.
    outcomes = task_outcomes(group)
    errors = len(group) - len(outcomes)
    group = outcomes
    if group.empty:
        return {"n": 0, "errors": errors, "tasks": 0, "passes": 0, "pass_rate": math.nan,
                "pass_rate.lo": math.nan, "pass_rate.hi": math.nan}  # fmt: skip
    n, passes = len(group), int(group["passed"].sum())
    low, high = wilson_interval(passes, n, level)
    row: dict[str, Any] = {
        "n": n,
        "errors": errors,
        "tasks": group["task"].nunique(),
        "passes": passes,
        "pass_rate": passes / n,
        "pass_rate.lo": low,
        "pass_rate.hi": high,
        **_pass_k(group),
    }
    for judge in judges:
        scores = group[judge].dropna().tolist()
        row[judge] = sum(scores) / len(scores) if scores else math.nan
        row[f"{judge}.lo"], row[f"{judge}.hi"] = bootstrap_mean_interval(scores, level, seed=seed)
    for metric in MEDIANS:
        if metric in group:
            row[metric] = group[metric].median(skipna=True)
    for metric in TOTALS:
        if metric in group:
            row[f"{metric}.total"] = group[metric].sum(min_count=1)
    if "host.contended" in group:
        # Trials whose speed was measured with another engine running or the host
        # overloaded: their medians are not this configuration's speed alone.
        row["speed.contended"] = float(group["host.contended"].sum(min_count=1))
    cost = group["cost_usd"]
    total = cost.sum(min_count=1)
    row["cost.total_usd"] = total
    row["cost.per_trial_usd"] = total / n
    row["cost.per_pass_usd"] = total / passes if passes else math.nan
    return row


def leaderboard(
    trials: pd.DataFrame, prices: Prices | None = None, level: float = 0.95, seed: int = 0
) -> pd.DataFrame:
    """Summarize a trial table (:func:`benchlab.report.collect.trial_table`).

    Args:
        trials: One row per trial.
        prices: Prices for the cost columns; None leaves cost unknown (NaN).
        level: Confidence level of the intervals.
        seed: Seed of the bootstrap intervals.

    Returns:
        One row per (scope, group, configuration); ``scope`` is overall, archetype or
        task, ``group`` the archetype or task name (``all`` overall). Overall rows come
        first, each scope ordered by group, then pass rate (best first).
    """
    if trials.empty:
        return pd.DataFrame(columns=["scope", "group", "config", *CONFIG_KEYS, "n"])
    trials = trials.assign(cost_usd=trial_costs(trials, prices))
    judges = judge_columns(trials)
    rows: list[dict[str, Any]] = []
    for scope in SCOPES:
        by = ["config", *CONFIG_KEYS] if scope == "overall" else [scope, "config", *CONFIG_KEYS]
        for key, group in trials.groupby(by, sort=True):
            parts = dict(zip(by, key, strict=True))
            rows.append(
                {
                    "scope": scope,
                    "group": parts.pop(scope, "all"),
                    **parts,
                    **_summary(group, judges, level, seed),
                }
            )
    board = pd.DataFrame(rows)
    board["scope"] = pd.Categorical(board["scope"], categories=SCOPES, ordered=True)
    board = board.sort_values(
        ["scope", "group", "pass_rate", "config"], ascending=[True, True, False, True]
    )
    return board.reset_index(drop=True)


def overall(board: pd.DataFrame) -> pd.DataFrame:
    """The overall rows of a leaderboard, one per configuration."""
    return board[board["scope"] == "overall"].reset_index(drop=True)


def max_k(board: pd.DataFrame) -> int:
    """The largest k that has a pass@k column."""
    ks = [int(c.removeprefix("pass@")) for c in board.columns if c.startswith("pass@")]
    return max(ks, default=0)
