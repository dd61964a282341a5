"""A cell's engine log is its own: the judge served on the same cell writes elsewhere."""

from __future__ import annotations

from benchlab.simulate.engines import engine_log_name


def test_judge_and_trial_engines_of_one_cell_log_to_different_files() -> None:
    assert engine_log_name("3f2a9c1b7d04") == "llama-server-3f2a9c1b7d04.log"
    assert engine_log_name("3f2a9c1b7d04", "judge") == "llama-server-judge-3f2a9c1b7d04.log"


def test_a_native_engine_records_no_container_image() -> None:
    from benchlab.config.cells import Cell
    from benchlab.config.models import EngineConfig, LocalModel
    from benchlab.simulate.engines import model_params
    from benchlab.simulate.plan import Target

    model = LocalModel(name="m", repo_id="org/m", quant_tags=("Q4_K_M",))
    engine = EngineConfig(backend="cpu")
    assert engine.image  # the config names the image a container would use
    params = model_params(Target(model, "Q4_K_M", Cell(model=model, quant="Q4_K_M", engine=engine)))
    assert "engine.image" not in params
    assert params["engine.launcher"] == "native" and params["engine.backend"] == "cpu"
