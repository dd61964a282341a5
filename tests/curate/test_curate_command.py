"""``benchlab curate`` as the CLI runs it: options into filters, the flow, the summary."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
import typer
from typer.testing import CliRunner

from benchlab.commands.curate import curate
from benchlab.errors import UsageError
from benchlab.settings import Settings
from benchlab.tracing import log_trial
from tests.curate.test_curate_flow import REPO, trial

# The command as a program of its own, as the CLI registers it.
PROGRAM = (
    "import typer; from benchlab.commands.curate import curate; "
    "app = typer.Typer(); app.command()(curate); app()"
)


def test_a_bad_status_is_a_usage_error() -> None:
    app = typer.Typer()
    app.command()(curate)
    done = CliRunner().invoke(app, ["--status", "nope"])
    assert isinstance(done.exception, UsageError)
    assert str(done.exception).startswith("--status: Input should be")


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_curate_prints_the_version_and_cells(
    tracking_settings: Settings, mlflow_experiment: str
) -> None:
    from prefect.settings import PREFECT_API_URL

    sweep = uuid.uuid4().hex[:8]
    log_trial(trial(sweep, 0))
    env = {
        **os.environ,
        "COLUMNS": "200",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "BENCHLAB_DATA_DIR": str(tracking_settings.data_dir),
        "BENCHLAB_MLFLOW_EXPERIMENT": tracking_settings.mlflow_experiment,
        "BENCHLAB_PREFECT_API_URL": str(PREFECT_API_URL.value()),
    }
    args = ["--sweep", sweep, "--dataset", f"cli-{sweep}", "--tasks-dir", str(REPO / "tasks"),
            "--no-parquet"]  # fmt: skip
    done = subprocess.run([sys.executable, "-c", PROGRAM, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"dataset cli-{sweep}@" in done.stdout
    assert "c1" in done.stdout and "new" in done.stdout
