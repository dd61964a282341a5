"""HTML tables of the report: the leaderboard, quant degradation and engine effect."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from html import escape

import pandas as pd

from benchlab.report.plots import engine_svg, quant_svg
from benchlab.report.table import DASH, Column, interval, number, percent

Spec = list[tuple[str, Callable[[pd.Series], str]]]


def _wrap(head: str, body: str) -> str:
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _cell(column: Column, row: pd.Series, front: bool) -> str:
    text = escape(column.render(row))
    if column.source == "config":
        return f'<td class="config{" front" if front else ""}">{text}</td>'
    if column.source == "pass_rate":
        width = 100 * float(row["pass_rate"])
        return f'<td class="num rate" style="--p:{width:.1f}%">{text}</td>'
    return f'<td class="{"num" if column.numeric else ""}">{text}</td>'


def board_table(rows: pd.DataFrame, shown: list[Column], front: Iterable[bool] = ()) -> str:
    """A leaderboard table; rows marked in ``front`` get a star by their name."""
    marks = list(front) or [False] * len(rows)
    head = "".join(
        f'<th class="{"num" if c.numeric else ""}">{escape(c.header)}</th>' for c in shown
    )
    body = "".join(
        "<tr>" + "".join(_cell(c, row, mark) for c in shown) + "</tr>"
        for (_, row), mark in zip(rows.iterrows(), marks, strict=True)
    )
    return _wrap(head, body)


TEXT_HEADERS = ("model", "quant", "cell", "settings that differ")
"""Columns of :func:`plain_table` that hold words; the others are right-aligned numbers."""


def plain_table(frame: pd.DataFrame, spec: Spec) -> str:
    """A table with one column per (header, formatter) of ``spec``."""
    align = ["" if h in TEXT_HEADERS else ' class="num"' for h, _ in spec]
    head = "".join(f"<th{a}>{escape(h)}</th>" for a, (h, _) in zip(align, spec, strict=True))
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{a}>{escape(show(row))}</td>" for a, (_, show) in zip(align, spec, strict=True)
        )
        + "</tr>"
        for _, row in frame.iterrows()
    )
    return _wrap(head, body)


def _get(name: str, show: Callable[[float], str] = number) -> Callable[[pd.Series], str]:
    return lambda row: show(float(row[name])) if name in row else DASH


def _points(value: float) -> str:
    return DASH if math.isnan(value) else f"{100 * value:+.0f} pts"


def _ratio(value: float) -> str:
    return DASH if math.isnan(value) else f"{value:.2f}x"


def quant_section(quants: pd.DataFrame) -> str:
    """Quality and speed per quant, table and plot, or why there is none."""
    if quants.empty:
        return '<p class="empty">Needs a local model run at two or more quantizations.</p>'
    spec: Spec = [
        ("model", lambda r: str(r["model"])),
        ("quant", lambda r: str(r["quant"])),
        ("n", _get("n")),
        ("pass rate [95% CI]", interval("pass_rate", percent)),
        (
            "pass rate vs reference",
            lambda r: f"{_points(float(r['pass_rate.delta']))} vs {r['reference']}",
        ),
        ("tg tok/s", _get("speed.tg_tps")),
        ("tg vs reference", _get("speed.tg_ratio", _ratio)),
        ("pp tok/s", _get("speed.pp_tps")),
        ("RSS MB", _get("engine.peak_rss_mb")),
        ("VRAM MB", _get("engine.peak_vram_mb")),
    ]
    spec = [s for s in spec if not all(s[1](r) == DASH for _, r in quants.iterrows())]
    return plain_table(quants, spec) + f'<figure class="wide">{quant_svg(quants)}</figure>'


def engine_section(engines: pd.DataFrame) -> str:
    """Speed per engine cell of one model and quant, table and plot, or why there is none."""
    if engines.empty:
        return '<p class="empty">Needs a model and quant run under two or more engine cells.</p>'
    spec: Spec = [
        ("model", lambda r: f"{r['model']}:{r['quant']}"),
        ("cell", lambda r: str(r["cell"])),
        ("settings that differ", lambda r: str(r["settings"])),
        ("n", _get("n")),
        ("pass rate [95% CI]", interval("pass_rate", percent)),
        ("tg tok/s", _get("speed.tg_tps")),
        ("tg vs fastest", _get("speed.tg_ratio", _ratio)),
        ("pp tok/s", _get("speed.pp_tps")),
        ("RSS MB", _get("engine.peak_rss_mb")),
        ("VRAM MB", _get("engine.peak_vram_mb")),
    ]
    spec = [s for s in spec if not all(s[1](r) == DASH for _, r in engines.iterrows())]
    return plain_table(engines, spec) + f'<figure class="wide">{engine_svg(engines)}</figure>'
