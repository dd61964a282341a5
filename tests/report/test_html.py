"""The HTML report opened in headless Chromium, and its other renderings."""

from __future__ import annotations

import io
import json
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from benchlab.report.build import ReportData, build_report
from benchlab.report.cost import Prices
from benchlab.report.formats import render_csv, render_json, render_markdown, rich_table
from benchlab.report.html import render_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=20000",
]


@pytest.fixture(scope="module")
def data(trials: pd.DataFrame) -> ReportData:
    prices = Prices(api={"gpt-mini": (0.4, 1.6)}, host_per_hour=3.6)
    return build_report(trials, experiment="bench", sweep="s1", prices=prices)


@pytest.fixture(scope="module")
def page(data: ReportData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(data))
    return path


def test_html_needs_nothing_from_the_network(page: Path) -> None:
    text = page.read_text()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", text)
    assert "@import" not in text and "<script" not in text and "<link" not in text
    assert text.count("<svg") == 3 + 1 + 1  # three Pareto plots, quants, engine cells
    for config in ("gpt-mini+pi", "qwen:Q8_0@aaaa00000001+pi", "batch_size=512, parallel=2"):
        assert config in text


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium for a headless browser check")
def test_report_renders_in_chromium_without_console_errors(page: Path, tmp_path: Path) -> None:
    dom = _chromium(
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
        page.as_uri(),
        profile=tmp_path / "profile",
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == []
    assert "<h2>Leaderboard</h2>" in dom.stdout and dom.stdout.count("<svg") == 5
    shot = tmp_path / "report.png"
    done = _chromium(
        f"--screenshot={shot}",
        "--window-size=1400,2000",
        page.as_uri(),
        profile=tmp_path / "profile",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1400, 2000)
    assert shot.stat().st_size > 50_000  # a blank page compresses to a few kB


def test_markdown_csv_json_and_terminal_table(data: ReportData) -> None:
    markdown = render_markdown(data)
    lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert len(lines) == 1 + 4 + 1 + 2  # header, 4 configurations; quant header, 2 quants
    assert "| gpt-mini+pi | 12 | 92% [65%" in markdown
    board = pd.read_csv(io.StringIO(render_csv(data)))
    assert len(board) == len(data.board) and "pass^4" in board.columns
    document = json.loads(render_json(data))  # strict: no NaN
    assert document["trials"] == 48 and len(document["leaderboard"]) == len(data.board)
    first = document["leaderboard"][0]
    assert first["config"] == "gpt-mini+pi" and first["speed.tg_tps"] is None
    table = rich_table(data)
    assert table.row_count == 4 and table.columns[0].header == "configuration"
