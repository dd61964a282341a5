"""Everything a report shows, computed once from a trial table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from benchlab.report.collect import judge_columns
from benchlab.report.cost import Prices
from benchlab.report.leaderboard import leaderboard, max_k, overall
from benchlab.report.views import engine_effect, quant_degradation


@dataclass(frozen=True)
class ReportData:
    """The leaderboard and its views, with what they were built from."""

    experiment: str
    sweep: str | None
    generated_at: str
    level: float
    trials: pd.DataFrame
    board: pd.DataFrame
    quants: pd.DataFrame
    engines: pd.DataFrame

    @property
    def overall(self) -> pd.DataFrame:
        """One row per configuration over all tasks, best pass rate first."""
        return overall(self.board)

    @property
    def k(self) -> int:
        """The largest k with a pass@k column."""
        return max_k(self.board)

    @property
    def judges(self) -> list[str]:
        """The judge score columns (``judge.<criterion>``)."""
        return judge_columns(self.trials)

    @property
    def has_cost(self) -> bool:
        """Whether any configuration has a known, non-zero cost."""
        cost = self.board.get("cost.per_trial_usd")
        return cost is not None and bool((cost.fillna(0) > 0).any())


def build_report(
    trials: pd.DataFrame,
    *,
    experiment: str,
    sweep: str | None = None,
    prices: Prices | None = None,
    level: float = 0.95,
    seed: int = 0,
) -> ReportData:
    """Compute the leaderboard, quant degradation and engine effect of ``trials``."""
    return ReportData(
        experiment=experiment,
        sweep=sweep,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        level=level,
        trials=trials,
        board=leaderboard(trials, prices, level, seed),
        quants=quant_degradation(trials, level) if not trials.empty else pd.DataFrame(),
        engines=engine_effect(trials, level) if not trials.empty else pd.DataFrame(),
    )
