"""What each trial cost: API tokens at the model's prices, or engine-host time."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from benchlab.config.models import ApiModel, ModelsFile

PER_MTOK = 1e6


@dataclass(frozen=True)
class Prices:
    """Prices the report charges trials with, in USD."""

    api: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    """Per API model name: (input, output) price per million tokens."""

    host_per_hour: float = 0.0
    """One hour of an engine host, charged to every other (local) model."""

    @classmethod
    def from_models(cls, models: ModelsFile) -> Prices:
        """The prices that ``models.yaml`` gives."""
        api = {
            m.name: (m.input_price_per_mtok, m.output_price_per_mtok)
            for m in models.models
            if isinstance(m, ApiModel)
        }
        return cls(api=api, host_per_hour=models.cost.host_price_per_hour)


def _numbers(trials: pd.DataFrame, column: str, default: float) -> pd.Series:
    if column not in trials:
        return pd.Series(default, index=trials.index, dtype=float)
    return pd.to_numeric(trials[column], errors="coerce").astype(float).fillna(default)


def trial_costs(trials: pd.DataFrame, prices: Prices | None) -> pd.Series:
    """The cost of each trial in USD; all NaN when no prices are known.

    An API model's trial costs its input and output tokens at the model's prices. A
    local model's trial costs its share of the engine host for its wall time: the
    host's hourly price times the wall hours, divided by the server's parallel slots,
    since that many trials share the host at once.
    """
    if prices is None:
        return pd.Series(math.nan, index=trials.index, dtype=float)
    tokens_in = _numbers(trials, "tokens.input", 0.0)
    tokens_out = _numbers(trials, "tokens.output", 0.0)
    wall_hours = _numbers(trials, "trial.wall_s", 0.0) / 3600
    slots = _numbers(trials, "params.engine.parallel", 1.0).clip(lower=1.0)
    price_in = trials["model"].map(lambda m: prices.api.get(m, (math.nan, math.nan))[0])
    price_out = trials["model"].map(lambda m: prices.api.get(m, (math.nan, math.nan))[1])
    api_cost = (tokens_in * price_in + tokens_out * price_out) / PER_MTOK
    host_cost = wall_hours * prices.host_per_hour / slots
    is_api = trials["model"].isin(list(prices.api))
    return api_cost.where(is_api, host_cost).astype(float)
