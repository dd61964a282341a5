"""The curate flow on a real sqlite MLflow with trials logged by ``log_trial``."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from benchlab.curate.filters import CurateFilters
from benchlab.curate.options import CurateOptions
from benchlab.curate.version import DatasetRef
from benchlab.errors import BenchlabError, UsageError
from benchlab.results import CheckResult, DiffResult, TrialResult, TrialStatus
from benchlab.settings import Settings
from benchlab.tracing import log_trial
from tests.curate.builders import call, result

REPO = Path(__file__).resolve().parents[2]
LS = ("bash", {"command": "ls"})


@pytest.fixture
def settings(tracking_settings: Settings, mlflow_experiment: str) -> Settings:
    """The session's MLflow store, the repository's tasks."""
    return tracking_settings.model_copy(update={"tasks_dir": REPO / "tasks"})


def trial(
    sweep: str, n: int, status: TrialStatus = TrialStatus.failed, **extra: Any
) -> TrialResult:
    """A logged-looking trial of the sample task: one loop of three ``ls`` calls."""
    patch = "".join(f"+line {i}\n" for i in range(400))
    return result(
        call(0, LS), call(1, LS), call(2, LS), call(3, text="Sorry, I could not finish."),
        final="Sorry, I could not finish.",
        trial_id=f"{sweep}-{n}",
        sweep=sweep,
        status=status,
        repeat=n,
        prompt="add divide",
        diff=DiffResult(base_commit="ab" * 20, patch=patch, files_changed=1, insertions=400,
                        deletions=0),
        checks=(CheckResult(name="t", command="false", exit_code=1, expected_exit=0,
                            passed=False, duration_s=0.1, output="", tests_passed=2,
                            tests_failed=1),),
        **extra,
    )  # fmt: skip


def dataset_records(name: str) -> list[dict[str, Any]]:
    from mlflow.genai.datasets import get_dataset

    frame = get_dataset(name=name).to_df()
    return [
        dict(inputs=i, outputs=o) for i, o in zip(frame["inputs"], frame["outputs"], strict=True)
    ]


@pytest.mark.usefixtures("prefect_harness")
def test_curating_twice_gives_one_version_and_no_duplicates(settings: Settings) -> None:
    from mlflow import MlflowClient

    from flows.curate import curate

    sweep = uuid.uuid4().hex[:8]
    logged = [log_trial(trial(sweep, n)) for n in range(3)]
    name = f"curate-test-{sweep}"
    filters = CurateFilters(sweeps=(sweep,))
    options = CurateOptions(dataset=name, max_diff_chars=500)

    first = curate(filters, options, settings)
    assert (first.records, first.new_records, first.existing_records) == (3, 3, 0)
    # log_trial logged the baseline metrics already: nothing to write on the runs.
    assert not first.already_curated and first.runs_updated == 0
    again = curate(filters, options, settings)
    assert again.version == first.version and again.run_id == first.run_id
    assert again.already_curated and again.new_records == 0 and again.runs_updated == 0

    records = dataset_records(name)
    assert len(records) == 3
    assert sorted(r["inputs"]["trial_id"] for r in records) == [f"{sweep}-{n}" for n in range(3)]

    # The record: inputs, trimmed outputs, the sample task's guidelines, tags.
    client = MlflowClient()
    one = next(r for r in records if r["inputs"]["trial_id"] == f"{sweep}-0")
    outputs = one["outputs"]
    assert outputs["diff_truncated"] is True and "characters cut ...]" in outputs["diff"]
    assert outputs["checks"] == [{"name": "t", "passed": False, "exit_code": 1,
                                  "tests_passed": 2, "tests_failed": 1}]  # fmt: skip
    assert outputs["metrics"]["baseline.loops"] == 1
    assert outputs["metrics"]["baseline.heuristic.apologies"] == 1
    assert one["inputs"]["commit"] == "ab" * 20

    # Baseline metrics are on each trial's run, logged once.
    run = client.get_run(logged[0].run_id)
    assert run.data.metrics["baseline.loops"] == 1
    assert len(client.get_metric_history(logged[0].run_id, "baseline.loops")) == 1

    # Another loop rule changes the metrics: they are logged again, on every run.
    strict = curate(filters, options.model_copy(update={"loop_repeats": 4}), settings)
    assert strict.runs_updated == 3 and strict.version != first.version
    assert client.get_run(logged[0].run_id).data.metrics["baseline.loops"] == 0

    # The version's companion run: filters, count, trial ids.
    version_run = client.get_run(first.run_id)
    assert version_run.data.tags["dataset_version"] == first.version
    assert version_run.data.params["filters.sweeps"] == sweep
    assert version_run.data.metrics["records"] == 3
    path = client.download_artifacts(first.run_id, "trial_ids.json", str(settings.state_dir))
    assert json.loads(Path(path).read_text()) == [f"{sweep}-{n}" for n in range(3)]
    assert DatasetRef.parse(first.ref) == DatasetRef(name, first.version)

    # The parquet export: one row per record, metrics as columns.
    import pandas as pd

    assert first.parquet_path is not None and first.parquet_path.name == f"{first.ref}.parquet"
    frame = pd.read_parquet(first.parquet_path)
    assert list(frame["trial_id"]) == [f"{sweep}-{n}" for n in range(3)]
    assert list(frame["metrics.baseline.loops"]) == [1.0, 1.0, 1.0]
    assert first.cells["c1"]["trials"] == 3


@pytest.mark.usefixtures("prefect_harness")
def test_a_new_trial_makes_a_new_version_and_one_new_record(settings: Settings) -> None:
    from flows.curate import curate

    sweep = uuid.uuid4().hex[:8]
    for n in range(2):
        log_trial(trial(sweep, n))
    options = CurateOptions(dataset=f"curate-test-{sweep}", parquet=False)
    filters = CurateFilters(sweeps=(sweep,))
    first = curate(filters, options, settings)
    log_trial(trial(sweep, 2, status=TrialStatus.passed))
    second = curate(filters, options, settings)
    assert second.version != first.version
    assert (second.records, second.new_records, second.existing_records) == (3, 1, 2)
    assert len(dataset_records(options.dataset or "")) == 3
    assert second.parquet_path is None

    # Only the passed one, by a status filter; several values are alternatives.
    passed = curate(CurateFilters(sweeps=(sweep,), statuses=(TrialStatus.passed,)),
                    options, settings)  # fmt: skip
    assert passed.records == 1
    both = curate(CurateFilters(sweeps=(sweep,), statuses=("passed", "failed")),  # type: ignore[arg-type]
                  options, settings)  # fmt: skip
    assert both.version == second.version


def test_no_matching_trial_is_an_error(settings: Settings) -> None:
    from benchlab.curate import steps

    with pytest.raises(BenchlabError, match="no finished trial run matches"):
        steps.select(settings, CurateFilters(sweeps=("no-such-sweep",)), CurateOptions())


def test_filters_make_one_store_filter_and_check_the_rest() -> None:
    filters = CurateFilters(tasks=("sample",), models=("a", "b"), archetypes=("repo_maintenance",))
    text = filters.filter_string()
    assert "tags.task = 'sample'" in text and "tags.model" not in text
    assert filters.matches({"task": "sample", "model": "b", "archetype": "repo_maintenance"})
    assert not filters.matches({"task": "sample", "model": "c", "archetype": "repo_maintenance"})
    assert filters.default_dataset_name() == "benchlab-repo_maintenance"
    assert CurateFilters().default_dataset_name() == "benchlab-all"
    with pytest.raises(ValueError, match="pattern"):
        CurateFilters(tasks=("x' or tags.kind = 'y",))


def test_dataset_refs_are_checked() -> None:
    assert str(DatasetRef.parse("benchlab-all@0123456789abcdef")) == "benchlab-all@0123456789abcdef"
    with pytest.raises(UsageError, match="NAME@VERSION"):
        DatasetRef.parse("benchlab-all")


def test_records_stream_into_the_dataset_only_for_a_new_trial_set(settings: Settings) -> None:
    from benchlab.curate import steps

    sweep = uuid.uuid4().hex[:8]
    for n in range(2):
        log_trial(trial(sweep, n))
    name = f"stream-{sweep}"
    filters = CurateFilters(sweeps=(sweep,))
    options = CurateOptions(dataset=name, parquet=False)
    selection = steps.select(settings, filters, options)

    # No version has these trials: records are in the dataset as soon as they are built.
    plan = steps.plan_dataset(selection, filters, options)
    assert plan.stream and plan.records_before == 0
    records = steps.build_records(settings, selection, options, plan=plan)
    assert len(dataset_records(name)) == 2
    outcome = steps.upsert_dataset(selection, records, filters, options, {}, plan)
    assert (outcome.new, outcome.already_curated) == (2, False)

    # The same trials again, with another diff budget: nothing is written until the
    # version is known to be new.
    again = steps.plan_dataset(selection, filters, options)
    assert not again.stream and again.records_before == 2
    shorter = options.model_copy(update={"max_diff_chars": 300})
    diffs = sorted(str(r["outputs"]["diff"]) for r in dataset_records(name))
    records = steps.build_records(settings, selection, shorter, plan=again)
    assert sorted(str(r["outputs"]["diff"]) for r in dataset_records(name)) == diffs
    second = steps.upsert_dataset(selection, records, filters, shorter, {}, again)
    assert second.ref != outcome.ref and (second.new, second.existing) == (0, 2)
    assert sorted(str(r["outputs"]["diff"]) for r in dataset_records(name)) != diffs
