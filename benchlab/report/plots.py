"""The report's plots, drawn with matplotlib's SVG backend as inline SVG text."""

from __future__ import annotations

import io
import math
from contextlib import AbstractContextManager
from typing import Any, cast

import matplotlib
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from benchlab.report.views import pareto_front

PALETTE = ("#2563eb", "#db2777", "#059669", "#d97706", "#7c3aed", "#0891b2", "#dc2626")
"""One colour per model, in order of appearance."""

INK, MUTED, FRONT = "#1f2937", "#9ca3af", "#111827"

STYLE: dict[str, Any] = {
    "svg.fonttype": "none",  # text stays text: smaller, selectable, page's own font
    "svg.hashsalt": "benchlab",  # stable element ids: the same data gives the same SVG
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.edgecolor": "#d1d5db",
    "axes.labelcolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#eef0f3",
    "xtick.color": "#4b5563",
    "ytick.color": "#4b5563",
}


def _style() -> AbstractContextManager[None]:
    # matplotlib types rcParams keys as a Literal; the keys above are all valid ones.
    return matplotlib.rc_context(cast(Any, STYLE))


def short_label(config: str) -> str:
    """A configuration name with its cell id cut to 6 characters, for plot labels."""
    if "@" not in config:
        return config
    head, tail = config.split("@", 1)
    cell, plus, harness = tail.partition("+")
    return f"{head}@{cell[:6]}{plus}{harness}"


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    with _style():
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # inline SVG in HTML takes no XML prolog or doctype


def _colors(models: pd.Series) -> list[str]:
    order = list(dict.fromkeys(models))
    return [PALETTE[order.index(m) % len(PALETTE)] for m in models]


def pareto_svg(points: pd.DataFrame, x: str, x_label: str, higher_is_better: bool) -> str:
    """Pass rate (with its interval) against ``x``, the Pareto front drawn as a step line.

    Args:
        points: Overall leaderboard rows.
        x: The column for the horizontal axis.
        x_label: Its axis label.
        higher_is_better: Whether a larger ``x`` is better (speed) or worse (time, cost).
    """
    points = points[points[x].notna()].reset_index(drop=True)
    with _style():
        figure = Figure(figsize=(5.2, 3.7))
        axes = figure.subplots()
        front = pareto_front(points, x, higher_is_better)
        errors = [
            points["pass_rate"] - points["pass_rate.lo"],
            points["pass_rate.hi"] - points["pass_rate"],
        ]
        axes.errorbar(
            points[x],
            points["pass_rate"],
            yerr=errors,
            fmt="none",
            ecolor="#cbd5e1",
            elinewidth=1.2,
            capsize=2,
            zorder=1,
        )
        colors = _colors(points["model"])
        axes.scatter(
            points[x],
            points["pass_rate"],
            c=colors,
            s=[70 if f else 34 for f in front],
            edgecolors=[FRONT if f else "white" for f in front],
            linewidths=1.2,
            zorder=3,
        )
        on_front = points[front].sort_values(x, ascending=not higher_is_better)
        if len(on_front) > 1:
            axes.step(
                on_front[x],
                on_front["pass_rate"],
                where="post",
                color=FRONT,
                linewidth=1,
                linestyle="--",
                alpha=0.6,
                zorder=2,
            )
        _log_if_wide(axes, points[x])
        axes.set_ylim(-0.03, 1.05)
        labels = [short_label(str(c)) for c in points["config"]]
        _place_labels(
            axes,
            list(zip(points[x], points["pass_rate"], strict=True)),
            labels,
            [INK if f else MUTED for f in front],
        )
        for model, color in dict(zip(points["model"], colors, strict=True)).items():
            axes.scatter([], [], c=color, s=30, label=model)
        axes.legend(fontsize=7.5, frameon=False, loc="lower left", ncols=3)
        axes.set_xlabel(
            x_label + (" (higher is better)" if higher_is_better else " (lower is better)")
        )
        axes.set_ylabel("pass rate (95% Wilson interval)")
        figure.tight_layout()
    return _svg(figure)


LABEL_OFFSETS = ((6, 4), (6, -11), (6, 13), (6, -20), (6, 22), (6, -29))
"""Where a point's label may go, in points from the point, tried in this order."""


def _place_labels(
    axes: Axes, xy: list[tuple[float, float]], labels: list[str], colors: list[str]
) -> None:
    # Greedy: each label takes the first offset whose box overlaps no label placed before.
    figure = axes.get_figure()
    scale = (figure.dpi if figure is not None else 100) / 72
    axes.get_xlim(), axes.get_ylim()  # settle autoscaling before converting coordinates
    placed: list[tuple[float, float, float, float]] = []
    for (x, y), label, color in sorted(
        zip(xy, labels, colors, strict=True), key=lambda t: -t[0][1]
    ):
        px, py = axes.transData.transform((x, y))
        width, height = 4.3 * len(label) * scale, 9 * scale
        right = axes.bbox.x1
        # Right of the point first; left of it where the label would leave the axes.
        candidates = [
            (dx, dy) if px + (dx * scale) + width <= right else (-dx - width / scale, dy)
            for dx, dy in LABEL_OFFSETS
        ]
        chosen = candidates[0]
        for dx, dy in candidates:
            box = (px + dx * scale, py + dy * scale, width, height)
            if not any(_overlap(box, other) for other in placed):
                chosen = (dx, dy)
                break
        placed.append((px + chosen[0] * scale, py + chosen[1] * scale, width, height))
        axes.annotate(
            label, (x, y), xytext=chosen, textcoords="offset points", fontsize=7.5, color=color
        )


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _log_if_wide(axes: Axes, values: pd.Series) -> None:
    positive = values[values > 0]
    if len(positive) == len(values) and len(values) > 1 and positive.max() / positive.min() > 50:
        axes.set_xscale("log")


def quant_svg(table: pd.DataFrame) -> str:
    """Pass rate and generation speed per quant, one group of bars per model."""
    has_speed = "speed.tg_tps" in table and table["speed.tg_tps"].notna().any()
    with _style():
        figure = Figure(figsize=(8.5, 2.8))
        panels = figure.subplots(1, 2 if has_speed else 1, squeeze=False)[0]
        columns = [("pass_rate", "pass rate")] + (
            [("speed.tg_tps", "generation tokens/s")] if has_speed else []
        )
        for axes, (column, label) in zip(panels, columns, strict=True):
            _grouped_bars(axes, table, column)
            axes.set_ylabel(label)
        panels[0].set_ylim(0, 1.05)
        panels[0].legend(fontsize=7.5, frameon=False, ncols=2)
        figure.tight_layout()
    return _svg(figure)


def _grouped_bars(axes: Axes, table: pd.DataFrame, column: str) -> None:
    models = list(dict.fromkeys(table["model"]))
    quants = list(dict.fromkeys(table["quant"]))
    width = 0.8 / max(1, len(quants))
    shades = ["#1e3a8a", "#2563eb", "#60a5fa", "#93c5fd", "#bfdbfe", "#dbeafe"]
    for q, quant in enumerate(quants):
        rows = table[table["quant"] == quant].set_index("model")
        xs = [m + (q - (len(quants) - 1) / 2) * width for m in range(len(models))]
        values = [rows[column].get(model, math.nan) for model in models]
        axes.bar(xs, values, width=width * 0.92, color=shades[q % len(shades)], label=quant)
        if column == "pass_rate":
            low = [rows["pass_rate.lo"].get(m, math.nan) for m in models]
            high = [rows["pass_rate.hi"].get(m, math.nan) for m in models]
            axes.errorbar(
                xs,
                values,
                yerr=[
                    [v - lo for v, lo in zip(values, low, strict=True)],
                    [hi - v for v, hi in zip(values, high, strict=True)],
                ],
                fmt="none",
                ecolor=INK,
                elinewidth=0.8,
                capsize=2,
            )
    axes.set_xticks(range(len(models)), models)
    axes.grid(axis="x", visible=False)


def engine_svg(table: pd.DataFrame) -> str:
    """Generation and prompt speed of each engine cell, one bar per cell."""
    labels = [
        f"{m}:{q} {s}"
        for m, q, s in zip(table["model"], table["quant"], table["settings"], strict=True)
    ]
    columns = [
        (c, lab)
        for c, lab in (("speed.tg_tps", "generation tokens/s"), ("speed.pp_tps", "prompt tokens/s"))
        if c in table and table[c].notna().any()
    ]
    with _style():
        figure = Figure(figsize=(9.5, 0.9 + 0.32 * len(table)))
        panels = figure.subplots(1, max(1, len(columns)), squeeze=False, sharey=True)[0]
        ys = list(range(len(table)))[::-1]
        colors = _colors(table["model"] + ":" + table["quant"])
        for axes, (column, label) in zip(panels, columns, strict=False):
            axes.barh(ys, table[column], color=colors, height=0.65)
            for y, value in zip(ys, table[column], strict=True):
                if not math.isnan(value):
                    axes.annotate(
                        f"{value:.3g}",
                        (value, y),
                        xytext=(3, 0),
                        textcoords="offset points",
                        va="center",
                        fontsize=7.5,
                    )
            axes.set_xlabel(label)
            axes.grid(axis="y", visible=False)
        panels[0].set_yticks(ys, labels, fontsize=7.5)
        figure.tight_layout()
    return _svg(figure)
