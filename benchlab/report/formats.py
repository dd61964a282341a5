"""The leaderboard as markdown (a Prefect artifact), CSV, JSON and a rich terminal table."""

from __future__ import annotations

import json
import math
from typing import Any

from rich.table import Table

from benchlab.report.build import ReportData
from benchlab.report.table import columns, notes, text_rows


def _escape_cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(data: ReportData) -> str:
    """The overall leaderboard and the quant summary as markdown, for a Prefect artifact."""
    title = f"# benchlab report: {data.experiment}" + (f" / {data.sweep}" if data.sweep else "")
    if data.trials.empty:
        return f"{title}\n\nNo trial runs found.\n"
    top = data.overall
    shown = columns(data.board, data.k, data.judges)
    lines = [
        title,
        "",
        f"{len(data.trials)} trials, {len(top)} configurations, "
        f"{data.trials['task'].nunique()} tasks; generated {data.generated_at}.",
        "",
        "| " + " | ".join(c.header for c in shown) + " |",
        "|" + "|".join("---:" if c.numeric else "---" for c in shown) + "|",
    ]
    lines += [
        "| " + " | ".join(_escape_cell(t) for t in row) + " |" for row in text_rows(top, shown)
    ]
    if footnotes := notes(top):
        lines += ["", *footnotes]
    if not data.quants.empty:
        lines += [
            "",
            "## Quantization",
            "",
            "| model | quant | n | pass rate | tg tok/s |",
            "|---|---|---:|---:|---:|",
        ]
        for _, row in data.quants.iterrows():
            tg = row.get("speed.tg_tps", math.nan)
            lines.append(
                f"| {row['model']} | {row['quant']} | {row['n']} | "
                f"{100 * row['pass_rate']:.0f}% | {tg:.3g} |"
            )
    return "\n".join(lines) + "\n"


def render_csv(data: ReportData) -> str:
    """Every leaderboard row (overall, per archetype, per task) with every column."""
    return str(data.board.to_csv(index=False))


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or infinity
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    return value


def _records(frame: Any) -> list[dict[str, Any]]:
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def render_json(data: ReportData) -> str:
    """The leaderboard and its views as one JSON document."""
    document = {
        "experiment": data.experiment,
        "sweep": data.sweep,
        "generated_at": data.generated_at,
        "confidence_level": data.level,
        "trials": len(data.trials),
        # Columns no row has a value in (a judge never run on these trials) say nothing.
        "leaderboard": _records(data.board.astype({"scope": str}).dropna(axis=1, how="all"))
        if len(data.board)
        else [],
        "quant_degradation": _records(data.quants),
        "engine_effect": _records(data.engines),
    }
    return json.dumps(document, indent=2, default=str) + "\n"


def rich_table(data: ReportData) -> Table:
    """The overall leaderboard as a rich table for the terminal."""
    title = f"leaderboard: {data.experiment}" + (f" / {data.sweep}" if data.sweep else "")
    table = Table(title=title)
    if data.trials.empty:
        table.add_column("no trial runs found")
        return table
    shown = columns(data.board, data.k, data.judges)
    for column in shown:
        table.add_column(
            column.header,
            justify="right" if column.numeric else "left",
            no_wrap=not column.numeric,  # a configuration name is read whole
            overflow="fold",
        )
    for row in text_rows(data.overall, shown):
        table.add_row(*row)
    if footnotes := notes(data.overall):
        table.caption = "\n".join(footnotes)
    return table
