"""The self-contained HTML report: inline CSS and SVG, nothing fetched from the network."""

from __future__ import annotations

from html import escape
from importlib.resources import files

from benchlab.report.build import ReportData
from benchlab.report.html_tables import board_table, engine_section, quant_section
from benchlab.report.plots import pareto_svg
from benchlab.report.table import Column, columns, money, notes, percent
from benchlab.report.views import pareto_front

PARETO_AXES = (
    ("speed.tg_tps", "generation tokens/s (median)", True),
    ("trial.wall_s", "trial wall time, s (median)", False),
    ("cost.per_trial_usd", "cost per trial, USD", False),
)
"""The Pareto plots: pass rate against each of these, when known."""


def _cards(data: ReportData) -> str:
    top = data.overall
    tasks = data.trials["task"].nunique()
    cards = [("trials", str(len(data.trials)), f"{len(top)} configurations, {tasks} tasks")]
    best = top.sort_values(["pass_rate", "pass_rate.lo"], ascending=False).iloc[0]
    cards.append(("best pass rate", percent(float(best["pass_rate"])), str(best["config"])))
    if "speed.tg_tps" in top and top["speed.tg_tps"].notna().any():
        fastest = top.loc[top["speed.tg_tps"].idxmax()]
        cards.append(
            ("fastest generation", f"{fastest['speed.tg_tps']:.3g} tok/s", str(fastest["config"]))
        )
    if data.has_cost and top["cost.per_pass_usd"].notna().any():
        cheapest = top.loc[top["cost.per_pass_usd"].idxmin()]
        cards.append(
            (
                "cheapest per pass",
                money(float(cheapest["cost.per_pass_usd"])),
                str(cheapest["config"]),
            )
        )
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="label">{escape(label)}</div>'
            f'<div class="value">{escape(value)}</div><div class="who">{escape(who)}</div></div>'
            for label, value, who in cards
        )
        + "</div>"
    )


def _pareto(data: ReportData) -> str:
    top, figures = data.overall, []
    for column, label, higher in PARETO_AXES:
        if column not in top or not top[column].notna().any():
            continue
        if column == "cost.per_trial_usd" and not data.has_cost:
            continue
        front = ", ".join(top[pareto_front(top, column, higher)]["config"])
        figures.append(
            f"<figure>{pareto_svg(top, column, label, higher)}"
            f"<figcaption>On the front: {escape(front)}</figcaption></figure>"
        )
    if not figures:
        return '<p class="empty">No speed, time or cost figures were recorded.</p>'
    return f'<div class="plots">{"".join(figures)}</div>'


def _scoped(data: ReportData, scope: str, shown: list[Column]) -> str:
    rows = data.board[data.board["scope"] == scope]
    return "".join(
        f"<h3>{escape(str(group))}</h3>{board_table(part, shown)}"
        for group, part in rows.groupby("group", sort=True, observed=True)
    )


def _section(title: str, lead: str, content: str) -> str:
    lead_html = f'<p class="lead">{lead}</p>' if lead else ""
    return f"<section><h2>{escape(title)}</h2>{lead_html}{content}</section>"


def _body(data: ReportData) -> str:
    top = data.overall
    shown = columns(data.board, data.k, data.judges)
    has_speed = "speed.tg_tps" in top and bool(top["speed.tg_tps"].notna().any())
    front = pareto_front(top, "speed.tg_tps", True).tolist() if has_speed else []
    star = " &#9733; marks the Pareto front of pass rate against generation speed."
    star = star if has_speed else ""
    star += "".join(f" {escape(note)}." for note in notes(top))
    return "".join(
        (
            _cards(data),
            _section(
                "Leaderboard",
                "All tasks, one row per configuration "
                f"(<code>model:quant@cell+harness</code>); medians per trial.{star}",
                board_table(top, shown, front),
            ),
            _section(
                "Quality against speed and cost",
                "Each point is a configuration, with its "
                "pass rate interval; ringed points are on the Pareto front: no other "
                "configuration is at least as good on both axes and better on one.",
                _pareto(data),
            ),
            _section("By archetype", "", _scoped(data, "archetype", shown)),
            _section(
                "By task",
                "",
                "<details open><summary>one table per task</summary>"
                f"{_scoped(data, 'task', shown)}</details>",
            ),
            _section(
                "Quantization",
                "Quality and speed per quant of each model (all its cells "
                "pooled), against its highest-precision quant.",
                quant_section(data.quants),
            ),
            _section(
                "Engine settings",
                "The cells of one model and quant: the engine settings "
                "that differ between them, and their speed.",
                engine_section(data.engines),
            ),
        )
    )


def _footer(level: float) -> str:
    pct = f"{100 * level:.0f}%"
    return (
        f"<footer><p>Intervals: pass rate {pct} Wilson score; judge means {pct} percentile "
        "bootstrap (seeded). pass@k and pass^k: unbiased estimators per task, averaged over "
        "tasks, k up to the fewest repeats of a task (every k is in the CSV and JSON). Cost: "
        "API tokens at the prices in models.yaml; local trials at the host's hourly price for "
        "their wall time, shared "
        "among the server's parallel slots.</p></footer>"
    )


def render_html(data: ReportData) -> str:
    """The whole report as one HTML document that needs nothing from the network."""
    css = files("benchlab.report").joinpath("style.css").read_text()
    title = "benchlab report: " + data.experiment + (f" / {data.sweep}" if data.sweep else "")
    meta = f"experiment <b>{escape(data.experiment)}</b>"
    meta += f" &middot; sweep <b>{escape(data.sweep)}</b>" if data.sweep else ""
    meta += f" &middot; generated {escape(data.generated_at)}"
    body = (
        _body(data)
        if not data.trials.empty
        else '<section><p class="empty">No trial runs found.</p></section>'
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{css}</style></head><body><main>"
        f'<header><h1>{escape(title)}</h1><div class="meta">{meta}</div></header>'
        f"{body}{_footer(data.level)}</main></body></html>\n"
    )
