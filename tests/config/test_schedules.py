"""``schedules`` in models.yaml: the default nightly run, and bad entries refused with
the file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from benchlab.config import load_models
from benchlab.errors import ConfigError

MODELS = """\
models:
  - {name: m, repo_id: org/m, quant_tags: [Q4_K_M]}
"""


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def test_without_a_section_the_default_sweep_runs_nightly_at_two(tmp_path: Path) -> None:
    (nightly,) = load_models(write(tmp_path / "models.yaml", MODELS)).schedules
    assert (nightly.name, nightly.cron, nightly.timezone) == ("nightly", "0 2 * * *", None)
    assert nightly.simulate.tasks == ("sample",) and not nightly.paused


def test_a_section_replaces_the_default(tmp_path: Path) -> None:
    text = (
        MODELS
        + """\
schedules:
  - name: weekly
    cron: "30 3 * * sat"
    timezone: Europe/Berlin
    simulate: {tasks: [sample], repeats: 5, work_pool: gpus}
"""
    )
    (weekly,) = load_models(write(tmp_path / "models.yaml", text)).schedules
    assert weekly.simulate.repeats == 5 and weekly.simulate.work_pool == "gpus"
    assert load_models(write(tmp_path / "none.yaml", MODELS + "schedules: []\n")).schedules == ()


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ('{cron: "0 2 * *"}', "schedules[0].cron: '0 2 * *' is not a cron"),
        (
            '{cron: "0 2 * * *", timezone: Mars/Base}',
            "schedules[0].timezone: unknown time zone 'Mars/Base'",
        ),
        ("{simulate: {repeats: 0}}", "schedules[0].simulate.repeats: Input should be greater"),
        ("{name: 'no spaces'}", "schedules[0].name: String should match pattern"),
        ("{when: daily}", "schedules[0].when: unknown key"),
    ],
    ids=["cron", "timezone", "repeats", "name", "unknown"],
)
def test_bad_entries_name_file_line_and_field(tmp_path: Path, entry: str, problem: str) -> None:
    path = write(tmp_path / "models.yaml", MODELS + f"schedules:\n  - {entry}\n")
    with pytest.raises(ConfigError) as caught:
        load_models(path)
    (first, *_rest) = [str(p) for p in caught.value.problems]
    assert first.startswith(f"{path}:4: {problem}"), first
    assert caught.value.exit_code == 2
