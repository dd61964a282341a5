"""Leaderboard rows as display text: the columns every rendering shows, formatted once."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

import pandas as pd

from benchlab.results import CONTENDED_LOAD_PER_CPU

Row: TypeAlias = pd.Series

DASH = "\u2013"
"""Shown for a missing value, and between an interval's bounds."""


@dataclass(frozen=True)
class Column:
    """One displayed column: a header, the source column it needs, and its formatter."""

    header: str
    source: str
    render: Callable[[Row], str]
    numeric: bool = True


def number(value: float, digits: int = 3) -> str:
    """A number with ``digits`` significant digits (whole numbers in full); a dash when
    missing."""
    if math.isnan(value):
        return DASH
    if value.is_integer() and abs(value) < 1e7:
        return str(int(value))
    return f"{value:.{digits}g}"


def percent(value: float) -> str:
    """A proportion as a whole percentage; a dash when missing."""
    return DASH if math.isnan(value) else f"{100 * value:.0f}%"


def money(value: float) -> str:
    """USD with enough digits for fractions of a cent; a dash when missing."""
    if math.isnan(value):
        return DASH
    return f"${value:.2f}" if value >= 1 else f"${value:.3g}"


def score(value: float) -> str:
    """A judge score with two decimals."""
    return f"{value:.2f}"


def interval(column: str, show: Callable[[float], str]) -> Callable[[Row], str]:
    """A formatter of ``column`` with its ``.lo`` and ``.hi`` bounds: ``58% [25%-75%]``."""

    def render(row: Row) -> str:
        value = float(row[column])
        if math.isnan(value):
            return DASH
        low, high = show(float(row[f"{column}.lo"])), show(float(row[f"{column}.hi"]))
        return f"{show(value)} [{low}{DASH}{high}]"

    return render


def _plain(column: str, show: Callable[[float], str] = number) -> Callable[[Row], str]:
    return lambda row: show(float(row[column])) if column in row else DASH


CONTENDED_MARK = "*"
"""Marks a speed measured, in some of its trials, under contention."""


def _speed(column: str) -> Callable[[Row], str]:
    def render(row: Row) -> str:
        text = _plain(column)(row)
        contended = float(row.get("speed.contended", math.nan))
        return text + CONTENDED_MARK if text != DASH and contended > 0 else text

    return render


def _pass_at(kind: str, k: int) -> Callable[[Row], str]:
    """``pass@k`` at the board's largest k; a row with fewer repeats shows its own largest
    k, named, rather than nothing."""

    def render(row: Row) -> str:
        repeats = float(row.get("repeats", k))
        own = k if math.isnan(repeats) else int(repeats)
        if own >= k:
            return percent(float(row[f"{kind}{k}"]))
        return f"{percent(float(row[f'{kind}{own}']))} (k={own})" if own >= 1 else DASH

    return render


def notes(board: pd.DataFrame) -> list[str]:
    """Footnotes the shown marks and columns need."""
    found = []
    if "errors" in board and (board["errors"].fillna(0) > 0).any():
        found.append(
            "errors: trials the machine failed to run (engine, agent install, sandbox, "
            "checks that could not start); not in n, pass rates, speed or cost: rerun them"
        )
    if "speed.contended" in board and (board["speed.contended"].fillna(0) > 0).any():
        found.append(
            f"{CONTENDED_MARK} speed measured under contention in some trials (another "
            f"llama-server running, or load above {CONTENDED_LOAD_PER_CPU:g} per CPU): not "
            "this configuration's speed alone; see host.contended on the trial runs"
        )
    return found


def _totals(row: Row) -> str:
    return (
        f"{number(float(row.get('tokens.input.total', math.nan)))}/"
        f"{number(float(row.get('tokens.output.total', math.nan)))}"
    )


def _tokens(row: Row) -> str:
    return (
        f"{number(float(row['tokens.input']))}/{number(float(row.get('tokens.output', math.nan)))}"
    )


def columns(board: pd.DataFrame, k: int, judges: list[str]) -> list[Column]:
    """The columns to show for ``board``: those with at least one known value."""
    candidates = [
        Column("configuration", "config", lambda row: str(row["config"]), numeric=False),
        Column("n", "n", _plain("n")),
        Column("errors", "errors", _plain("errors")),
        Column("pass rate [95% CI]", "pass_rate", interval("pass_rate", percent)),
    ]
    if k > 1:
        candidates += [
            Column(f"pass@{k}", f"pass@{k}", _pass_at("pass@", k)),
            Column(f"pass^{k}", f"pass^{k}", _pass_at("pass^", k)),
        ]
    for judge in judges:
        candidates.append(Column(judge.removeprefix("judge."), judge, interval(judge, score)))
    candidates += [
        Column("tg tok/s", "speed.tg_tps", _speed("speed.tg_tps")),
        Column("pp tok/s", "speed.pp_tps", _speed("speed.pp_tps")),
        Column("TTFT s", "ttft.p50_s", _plain("ttft.p50_s")),
        Column("wall s", "trial.wall_s", _plain("trial.wall_s")),
        Column("turns", "turns", _plain("turns")),
        Column("tokens in/out", "tokens.input", _tokens),
        Column("total tokens in/out", "tokens.input.total", _totals),
        Column("load s", "engine.load_time_s", _plain("engine.load_time_s")),
        Column("RSS MB", "engine.peak_rss_mb", _plain("engine.peak_rss_mb")),
        Column("VRAM MB", "engine.peak_vram_mb", _plain("engine.peak_vram_mb")),
        Column("$/trial", "cost.per_trial_usd", _plain("cost.per_trial_usd", money)),
        Column("$/pass", "cost.per_pass_usd", _plain("cost.per_pass_usd", money)),
    ]
    shown = [c for c in candidates if c.source in board and board[c.source].notna().any()]
    # The errors column only where there are errors: a clean sweep has none to show.
    return [c for c in shown if c.source != "errors" or (board["errors"].fillna(0) > 0).any()]


def text_rows(board: pd.DataFrame, shown: list[Column]) -> list[list[str]]:
    """Each row of ``board`` as the display text of ``shown``."""
    return [[c.render(row) for c in shown] for _, row in board.iterrows()]
