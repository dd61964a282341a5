"""What the demo prints: the trial's own speed and the probe's, each named."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from benchlab.settings import Settings
from benchlab.summary import benchlab_command, print_summary
from benchlab.tracing import LoggedTrial
from tests.test_metrics_glossary import full_trial


def test_trial_speed_and_probe_speed_are_both_shown_and_labelled(tmp_path: Path) -> None:
    console = Console(record=True, width=200)
    logged = LoggedTrial(run_id="r", trace_id="t", experiment_id="1")
    ok = print_summary(console, Settings(data_dir=tmp_path), full_trial(), logged)
    text = console.export_text()
    # 1010 prompt tokens over 1.1 s, 20 generated over 0.2 s, first tokens at 200 ms.
    assert "prompt 918 tok/s, generation 100.0 tok/s, first token 200 ms (median)" in text
    assert "trial speed" in text and "(this trial's calls)" in text
    assert "probe speed" in text and "(speed probe before the trial)" in text
    assert ok is True  # 20 generated and 1010 processed, as the server counted


def test_the_next_step_names_a_command_that_exists() -> None:
    command = benchlab_command()
    assert Path(command).is_file() or command == "uv run benchlab"
