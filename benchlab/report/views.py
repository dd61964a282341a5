"""Views of the results: the Pareto front, quant degradation and engine settings' effect."""

from __future__ import annotations

import math
import re

import pandas as pd

from benchlab.report.stats import wilson_interval

SPEED_METRICS = ("speed.tg_tps", "speed.pp_tps", "engine.peak_rss_mb", "engine.peak_vram_mb")
"""Medians shown beside quality in the quant and engine views (when present)."""

IGNORED_ENGINE_PARAMS = ("params.engine.kind", "params.engine.version")
"""Engine params that describe the server, not a setting of it."""


def pareto_front(
    points: pd.DataFrame, x: str, x_higher_is_better: bool, y: str = "pass_rate"
) -> pd.Series:
    """Which points no other point beats on both ``y`` (higher is better) and ``x``.

    A point with a missing ``x`` or ``y`` is never on the front.
    """
    sign = 1.0 if x_higher_is_better else -1.0
    xs = (points[x].astype(float) * sign).tolist()
    ys = points[y].astype(float).tolist()
    on_front = []
    for i, (xi, yi) in enumerate(zip(xs, ys, strict=True)):
        if math.isnan(xi) or math.isnan(yi):
            on_front.append(False)
            continue
        beaten = any(
            xj >= xi and yj >= yi and (xj > xi or yj > yi)
            for j, (xj, yj) in enumerate(zip(xs, ys, strict=True))
            if j != i and not (math.isnan(xj) or math.isnan(yj))
        )
        on_front.append(not beaten)
    return pd.Series(on_front, index=points.index, dtype=bool)


def bits_per_weight(quant: str) -> float:
    """A quant tag's nominal bits per weight (F16 16, Q8_0 8, IQ4_XS 4, ...); nan if unknown."""
    tag = quant.upper().removeprefix("UD-")
    if tag in ("F32", "F16", "BF16"):
        return float(tag.removeprefix("B").removeprefix("F"))
    if tag.startswith("MXFP4"):
        return 4.0
    found = re.match(r"^(?:I|T)?Q(\d)", tag)
    return float(found[1]) if found else math.nan


def _quality(group: pd.DataFrame, level: float) -> dict[str, float]:
    n, passes = len(group), int(group["passed"].sum())
    low, high = wilson_interval(passes, n, level)
    row: dict[str, float] = {
        "n": n,
        "pass_rate": passes / n,
        "pass_rate.lo": low,
        "pass_rate.hi": high,
    }
    for metric in SPEED_METRICS:
        if metric in group:
            row[metric] = group[metric].median(skipna=True)
    return row


def quant_degradation(trials: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Quality and speed per quant of each local model run at two or more quants.

    All cells and harnesses of a model and quant are pooled. The reference is the quant
    with the most bits; ``pass_rate.delta`` is the change in pass rate from it and
    ``speed.tg_ratio`` the generation speed relative to it.
    """
    local = trials[trials["quant"] != ""]
    rows = []
    for (model, quant), group in local.groupby(["model", "quant"], sort=True):
        rows.append(
            {
                "model": model,
                "quant": quant,
                "bits": bits_per_weight(str(quant)),
                **_quality(group, level),
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table = table[table.groupby("model")["quant"].transform("size") >= 2]
    if table.empty:
        return table.reset_index(drop=True)
    table = table.sort_values(["model", "bits", "quant"], ascending=[True, False, True])
    reference = table.groupby("model").head(1).set_index("model")
    table["reference"] = table["model"].map(reference["quant"])
    table["pass_rate.delta"] = table["pass_rate"] - table["model"].map(reference["pass_rate"])
    if "speed.tg_tps" in table:
        table["speed.tg_ratio"] = table["speed.tg_tps"] / table["model"].map(
            reference["speed.tg_tps"]
        )
    return table.reset_index(drop=True)


def engine_effect(trials: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Speed and quality of each engine cell of a model and quant that has several cells.

    ``settings`` names the engine params that differ among that model and quant's
    cells; ``speed.tg_ratio`` is generation speed relative to its fastest cell.
    """
    params = [
        c
        for c in trials.columns
        if c.startswith("params.engine.") and c not in IGNORED_ENGINE_PARAMS
    ]
    rows = []
    local = trials[(trials["quant"] != "") & (trials["cell"] != "")]
    for (model, quant), runs in local.groupby(["model", "quant"], sort=True):
        if runs["cell"].nunique() < 2:
            continue
        varying = sorted(p for p in params if runs[p].nunique(dropna=False) > 1)
        for cell, group in runs.groupby("cell", sort=True):
            first = group.iloc[0]
            settings = ", ".join(f"{p.removeprefix('params.engine.')}={first[p]}" for p in varying)
            rows.append(
                {
                    "model": model,
                    "quant": quant,
                    "cell": cell,
                    "settings": settings or "(same settings)",
                    **_quality(group, level),
                }
            )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    if "speed.tg_tps" in table:
        best = table.groupby(["model", "quant"])["speed.tg_tps"].transform("max")
        table["speed.tg_ratio"] = table["speed.tg_tps"] / best
        table = table.sort_values(["model", "quant", "speed.tg_tps"], ascending=[True, True, False])
    return table.reset_index(drop=True)
