"""``report`` and ``compare`` as a user runs them, on the session's sqlite MLflow store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from benchlab.commands.report import compare, report
from benchlab.errors import UsageError
from tests.report.trials import SWEEP

MODELS_YAML = """\
cost: {host_price_per_hour: 3.6}
models:
  - name: qwen
    repo_id: org/qwen-GGUF
    quant_tags: [Q8_0, Q4_K_M]
  - name: gpt-mini
    provider: openai
    base_url: https://api.example.com/v1
    api_key_env: OPENAI_API_KEY
    input_price_per_mtok: 0.4
    output_price_per_mtok: 1.6
"""


@pytest.fixture()
def app(mlflow_experiment: str) -> Iterator[typer.Typer]:
    import mlflow

    commands = typer.Typer()
    commands.command()(report)
    commands.command()(compare)
    yield commands
    mlflow.set_experiment(experiment_id=mlflow_experiment)  # the commands select their own


@pytest.fixture()
def env(report_experiment: str, tmp_path: Path) -> dict[str, str]:
    import mlflow

    return {
        "BENCHLAB_MLFLOW_TRACKING_URI": mlflow.get_tracking_uri(),
        "BENCHLAB_MLFLOW_EXPERIMENT": report_experiment,
        "BENCHLAB_DATA_DIR": str(tmp_path / "data"),
        "COLUMNS": "240",
    }


def test_report_writes_json_with_costs_from_models_yaml(
    app: typer.Typer, env: dict[str, str], tmp_path: Path
) -> None:
    models, out = tmp_path / "models.yaml", tmp_path / "out" / "board.json"
    models.write_text(MODELS_YAML)
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--sweep",
            SWEEP,
            "--format",
            "json",
            "--out",
            str(out),
            "--config",
            str(models),
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    rows = {
        r["config"]: r
        for r in json.loads(out.read_text())["leaderboard"]
        if r["scope"] == "overall"
    }
    assert rows["gpt-mini+pi"]["cost.per_trial_usd"] == pytest.approx(0.00072)
    assert rows["qwen:Q8_0@aaaa00000001+pi"]["cost.per_trial_usd"] == pytest.approx(0.06)


def test_report_table_and_mlflow_run(
    app: typer.Typer, env: dict[str, str], report_experiment: str
) -> None:
    from mlflow import MlflowClient

    from benchlab.report.collect import experiment_id, search_trials

    result = CliRunner().invoke(app, ["report", "--sweep", SWEEP, "--log"], env=env)
    assert result.exit_code == 0, result.output
    assert "qwen:Q4_K_M@bbbb00000002+pi" in result.output and "leaderboard" in result.output
    client = MlflowClient()
    (run,) = client.search_runs([experiment_id(report_experiment)], "tags.kind = 'report'")
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"report.html", "leaderboard.csv", "leaderboard.json", "report.md"} <= artifacts
    assert len(search_trials(report_experiment, SWEEP)) == 48  # the report run is no trial


def test_compare_says_whether_the_difference_is_real(app: typer.Typer, env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        app, ["compare", "gpt-mini", "qwen@bbbb00000001", "--sweep", SWEEP], env=env
    )
    assert result.exit_code == 0, result.output
    assert "is real at alpha 0.05" in " ".join(result.output.split())


def test_unknown_names_list_the_valid_ones(app: typer.Typer, env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["compare", "llama", "gpt-mini", "--sweep", SWEEP], env=env)
    assert isinstance(result.exception, UsageError)
    assert "valid: gpt-mini+pi, qwen:Q4_K_M@bbbb00000001+pi" in str(result.exception)
    result = CliRunner().invoke(app, ["report", "--experiment", "nope"], env=env)
    assert isinstance(result.exception, UsageError)
    assert str(result.exception).startswith("unknown experiment 'nope'; valid: ")
