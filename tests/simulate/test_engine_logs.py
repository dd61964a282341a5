"""A cell's engine log is its own: the judge served on the same cell writes elsewhere."""

from __future__ import annotations

from benchlab.simulate.engines import engine_log_name


def test_judge_and_trial_engines_of_one_cell_log_to_different_files() -> None:
    assert engine_log_name("3f2a9c1b7d04") == "llama-server-3f2a9c1b7d04.log"
    assert engine_log_name("3f2a9c1b7d04", "judge") == "llama-server-judge-3f2a9c1b7d04.log"
