"""Trials logged by ``log_trial`` and curated by the curate stage, ready to evaluate."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from benchlab.curate import steps as curate_steps
from benchlab.curate.filters import CurateFilters
from benchlab.curate.options import CurateOptions
from benchlab.results import CheckResult, DiffResult, TrialResult, TrialStatus
from benchlab.settings import Settings
from benchlab.tracing import LoggedTrial, log_trial
from benchlab.tracking import setup_tracking
from tests.curate.builders import call, result

REPO = Path(__file__).resolve().parents[2]

GRADERS = """
graders:
  - {kind: command, name: works, check: divide works}
  - {kind: contains, name: apology, text: sorry, ignore_case: true}
"""
"""Graders added to the sample task: one passes on the failing trial, one fails."""


@pytest.fixture(scope="session")
def tasks_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample task with two graders, beside a copy of its repository."""
    folder = tmp_path_factory.mktemp("tasks")
    shutil.copytree(REPO / "tasks" / "repos" / "calc", folder / "repos" / "calc")
    text = (REPO / "tasks" / "sample.yaml").read_text() + GRADERS
    (folder / "sample.yaml").write_text(text)
    return folder


@pytest.fixture
def settings(tracking_settings: Settings, mlflow_experiment: str, tasks_dir: Path) -> Settings:
    """The session's MLflow store, the tasks with graders, no configured judge."""
    return tracking_settings.model_copy(
        update={"tasks_dir": tasks_dir, "judge_base_url": None, "models_file": REPO / "models.yaml"}
    )


def trial(sweep: str, n: int, *, passed: bool, model: str = "m") -> TrialResult:
    """A trial of the sample task whose one check passed or failed."""
    return result(
        call(0, ("bash", {"command": "ls"})), call(1, text="Sorry, done."),
        final="Sorry, done." if not passed else "Added divide.",
        trial_id=f"{sweep}-{n}", sweep=sweep, repeat=n, prompt="add divide",
        status=TrialStatus.passed if passed else TrialStatus.failed,
        diff=DiffResult(base_commit="ab" * 20, patch="+def divide(a, b):\n", files_changed=1,
                        insertions=1, deletions=0),
        checks=(CheckResult(name="divide works", command="true", exit_code=0 if passed else 1,
                            expected_exit=0, passed=passed, duration_s=0.1, output=""),),
    ).model_copy(update={"model": model})  # fmt: skip


Curated = tuple[str, list[LoggedTrial]]
"""``NAME@VERSION`` of a curated version, and its trials as logged."""


@pytest.fixture
def curate(settings: Settings) -> Callable[..., Curated]:
    """Log trials of a fresh sweep and curate them into a new dataset version."""

    def make(passes: tuple[bool, ...] = (True, False), models: tuple[str, ...] = ()) -> Curated:
        sweep = uuid.uuid4().hex[:8]
        # Other tests point MLflow elsewhere: the trials go to these settings' store.
        setup_tracking(settings)
        logged = [
            log_trial(trial(sweep, n, passed=p, model=models[n] if models else "m"))
            for n, p in enumerate(passes)
        ]
        filters = CurateFilters(sweeps=(sweep,))
        options = CurateOptions(dataset=f"eval-test-{sweep}", parquet=False)
        selection = curate_steps.select(settings, filters, options)
        records = curate_steps.build_records(settings, selection, options)
        outcome = curate_steps.upsert_dataset(selection, records, filters, options, {})
        return str(outcome.ref), logged

    return make
