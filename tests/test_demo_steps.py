"""The demo's steps on their own: planning, and an engine that does not start."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchlab.agents.pi import PiHarness
from benchlab.demo import plan_demo, run_on_engine
from benchlab.errors import UsageError
from benchlab.results import TrialStatus
from benchlab.settings import Settings
from benchlab.tracing import log_trial

REPO = Path(__file__).resolve().parents[1]


def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        models_file=REPO / "models.yaml",
        tasks_dir=REPO / "tasks",
        server_start_timeout_s=60,
    )


def test_plan_picks_the_first_local_model(tmp_path: Path) -> None:
    plan = plan_demo(settings(tmp_path), "sample", None)
    assert plan.model.name == "gemma3-270m" and plan.cell.quant == "Q4_K_M"
    assert plan.cell.id == plan_demo(settings(tmp_path), "sample", None).cell.id
    assert plan.task.name == "sample"


def test_plan_refuses_unknown_model(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown model 'nope'; valid: gemma3-270m"):
        plan_demo(settings(tmp_path), "sample", "nope")


def test_engine_that_fails_to_start_is_a_recorded_error(
    tmp_path: Path, pi: PiHarness, mlflow_experiment: str
) -> None:
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"GGUF" + b"\0" * 4096)
    plan = plan_demo(settings(tmp_path), "sample", None)
    result = run_on_engine(settings(tmp_path), plan, corrupt, pi)
    assert result.status is TrialStatus.error
    assert result.reason.startswith("engine: llama-server")
    assert result.engine is not None and "--model" in result.engine.flags
    assert result.params["engine.threads"] == "2"
    logged = log_trial(result)
    assert logged.run_id and logged.trace_id
