"""Calibration logged to a real MLflow store; human feedback read back from traces."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
from mlflow.entities import AssessmentSource
from typer.testing import CliRunner

from benchlab.commands.judges import app
from benchlab.scoring.agreement import Agreement
from benchlab.scoring.calibrate import Calibration, calibration_table, log_calibration
from benchlab.scoring.feedback import feedback_examples, human_labels
from tests.agents.openai_double import Reply, ScriptedOpenAI
from tests.scoring.records import record


def test_calibration_is_logged_as_one_mlflow_run(mlflow_experiment: str) -> None:
    rows = [
        Calibration(
            "specificity",
            before=Agreement(4, 1, 1 / 3, 2 / 3, 0.25),
            after=Agreement(4, 0, 0.5, 1.0, 0.6),
            compiled_version="compiled-abc",
        ),
        Calibration("refusal", before=Agreement(2, 2, None, None, None), after=None),
    ]
    run_id = log_calibration(rows, "gemma-test", mlflow_experiment)
    run = mlflow.get_run(run_id)
    metrics = run.data.metrics
    assert metrics["calibration.specificity.plain.kappa"] == pytest.approx(0.25)
    assert metrics["calibration.specificity.compiled.within_one"] == pytest.approx(1.0)
    assert metrics["calibration.refusal.plain.unscored"] == 2
    assert "calibration.refusal.plain.kappa" not in metrics
    assert run.data.params["judge.model"] == "gemma-test"
    assert run.info.experiment_id == mlflow_experiment
    assert calibration_table(rows, "gemma-test").row_count == 3


def test_calibrate_command_prints_and_logs(tmp_path: Path) -> None:
    answers = [Reply(text='{"rationale": "x", "refused": false}')] * 8
    with ScriptedOpenAI(answers) as double:
        env = {
            "BENCHLAB_JUDGE_BASE_URL": double.base_url,
            "BENCHLAB_JUDGE_MODEL": "scripted",
            "BENCHLAB_DATA_DIR": str(tmp_path / "data"),
            "BENCHLAB_MLFLOW_TRACKING_URI": "",
            "COLUMNS": "200",
        }
        previous = mlflow.get_tracking_uri()
        try:
            done = CliRunner().invoke(
                app, ["calibrate", "--judge", "refusal", "--parallel", "1"], env=env
            )
        finally:
            mlflow.set_tracking_uri(previous)
    assert done.exit_code == 0, done.output
    assert "refusal" in done.output and "plain" in done.output
    assert "logged to MLflow run" in done.output
    assert (tmp_path / "data" / "mlflow.db").is_file()


def test_commands_refuse_unknown_names_and_a_missing_endpoint(tmp_path: Path) -> None:
    env = {"BENCHLAB_JUDGE_BASE_URL": "", "BENCHLAB_DATA_DIR": str(tmp_path)}
    done = CliRunner().invoke(app, ["calibrate", "--judge", "nope"], env=env)
    assert "unknown judge 'nope'" in str(done.exception)
    done = CliRunner().invoke(app, ["compile", "--judge", "refusal"], env=env)
    assert "no judge endpoint" in str(done.exception)


def test_human_feedback_on_traces_becomes_training_examples(mlflow_experiment: str) -> None:
    trace_ids = []
    for name in ("good", "bad", "unlabelled"):
        with mlflow.start_span(name=f"trial-{name}") as span:
            span.set_inputs({"task": name})
            trace_ids.append(span.trace_id)
    mlflow.flush_trace_async_logging()
    human = AssessmentSource(source_type="HUMAN", source_id="reviewer")
    machine = AssessmentSource(source_type="LLM_JUDGE", source_id="judge")
    mlflow.log_feedback(
        trace_id=trace_ids[0], name="completeness", value=5, source=human, rationale="all there"
    )
    mlflow.log_feedback(trace_id=trace_ids[1], name="completeness", value=2, source=human)
    mlflow.log_feedback(trace_id=trace_ids[1], name="idiomatic", value=1, source=human)
    mlflow.log_feedback(trace_id=trace_ids[2], name="completeness", value=4, source=machine)

    labels = {label.trace_id: label for label in human_labels(mlflow_experiment, "completeness")}
    assert set(labels) == set(trace_ids[:2])
    assert (labels[trace_ids[0]].value, labels[trace_ids[0]].rationale) == (5, "all there")

    records = [record(trial="a"), record(trial="b")]
    records[0]["tags"]["trace_id"] = trace_ids[0]
    examples = feedback_examples("completeness", list(labels.values()), records[:1])
    assert [(e.label, e.task_prompt) for e in examples] == [(5, records[0]["inputs"]["prompt"])]
