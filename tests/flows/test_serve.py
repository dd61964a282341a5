"""``benchlab serve`` against a real Prefect server: every deployment registered with
its form and schedule, and the pipeline triggered through the API like the UI does it,
run to the end on the small model, then run again as a resume that redoes nothing."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from benchlab.engine.server import LlamaServer
from benchlab.services.s3 import S3Endpoint
from benchlab.settings import Settings
from tests.fixtures.prefect_server import api, child_env, wait_for_flow_run
from tests.fixtures.simulate import simulate_settings, trial_runs

BENCHLAB = [sys.executable, "-m", "benchlab"]
SCHEDULES = """
schedules:
  - name: nightly
    cron: "0 2 * * *"
    simulate: {tasks: [guarded], agents: [script-solve]}
  - name: weekly-deep
    cron: "30 3 * * 6"
    timezone: Europe/Berlin
    paused: true
    simulate: {tasks: [guarded], agents: [script-solve], repeats: 3}
"""


def _deployments(api_url: str) -> dict[str, dict[str, Any]]:
    flows = {f["id"]: f["name"] for f in api(api_url, "POST", "/flows/filter", {})}
    return {
        f"{flows[d['flow_id']]}/{d['name']}": d
        for d in api(api_url, "POST", "/deployments/filter", {})
    }


def _wait_for(api_url: str, names: set[str], serve: subprocess.Popen[bytes], log: Path) -> dict:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        found = _deployments(api_url)
        if names <= set(found):
            return found
        assert serve.poll() is None, f"benchlab serve exited:\n{log.read_text()[-3000:]}"
        time.sleep(2)
    raise AssertionError(f"deployments missing: {names - set(found)}\n{log.read_text()[-3000:]}")


@pytest.mark.slow
def test_serve_registers_deployments_and_the_pipeline_runs_and_resumes(
    tmp_path: Path, s3_server: S3Endpoint, llama_server: LlamaServer, prefect_api: str
) -> None:
    settings = simulate_settings(tmp_path, s3_server).model_copy(
        update={"judge_base_url": llama_server.openai_base_url, "work_pool": "serve-test"}
    )
    with settings.models_file.open("a") as models:
        models.write(SCHEDULES)
    log = tmp_path / "serve.log"
    env = child_env(settings, prefect_api)
    with log.open("wb") as out:
        serve = subprocess.Popen([*BENCHLAB, "serve"], env=env, stdout=out, stderr=out)
    try:
        stages = {f"{s}/{s}" for s in ("download", "simulate", "curate", "evaluate", "report")}
        wanted = stages | {
            "pipeline/pipeline",
            "pipeline/nightly",
            "pipeline/weekly-deep",
            "simulate-cell/serve-test",
        }
        found = _wait_for(prefect_api, wanted, serve, log)

        nightly, weekly = found["pipeline/nightly"], found["pipeline/weekly-deep"]
        (schedule,) = nightly["schedules"]
        assert schedule["schedule"]["cron"] == "0 2 * * *" and schedule["active"]
        assert nightly["parameters"]["request"]["simulate"]["tasks"] == ["guarded"]
        (weekly_schedule,) = weekly["schedules"]
        assert weekly_schedule["schedule"]["timezone"] == "Europe/Berlin"
        assert weekly["paused"] and weekly["parameters"]["request"]["simulate"]["repeats"] == 3
        assert found["simulate-cell/serve-test"]["work_pool_name"] == "serve-test"

        # The forms: settings are the worker's own; tasks, models, agents are choices.
        form = found["pipeline/pipeline"]["parameter_openapi_schema"]
        assert set(form["properties"]) == {"request"}
        simulate_form = form["definitions"]["SimulateRequest"]["properties"]
        assert simulate_form["tasks"]["items"]["enum"] == [
            "guarded",
            "missing-check",
            "unreachable",
        ]
        assert simulate_form["models"]["items"]["enum"] == ["gemma3-270m"]
        assert "script-solve" in simulate_form["agents"]["items"]["enum"]
        assert "Where agents' tools run" in simulate_form["sandbox"]["description"]

        request = {
            "simulate": {"tasks": ["guarded"], "agents": ["script-solve"], "name": "served"},
            "judges": {"only": ["completeness"]},
        }
        first = _run_pipeline(prefect_api, found["pipeline/pipeline"]["id"], request, log)
        runs = trial_runs(settings, "served")
        assert len(runs) == 1 and runs[0].data.tags["status"] == "passed"

        artifacts = api(
            prefect_api,
            "POST",
            "/artifacts/filter",
            {"artifacts": {"key": {"any_": ["leaderboard"]}}},
        )
        assert artifacts and "gemma3-270m" in artifacts[0]["data"]

        stage_runs = _subflow_names(prefect_api, first["id"])
        assert stage_runs == ["download", "simulate", "curate", "evaluate", "report"]

        # Again: every stage finds its work done.
        _run_pipeline(prefect_api, found["pipeline/pipeline"]["id"], request, log)
        again = trial_runs(settings, "served")
        assert [r.info.run_id for r in again] == [r.info.run_id for r in runs]
        datasets = _dataset_versions(settings)
        assert len(datasets) == 1, datasets
        assert _evaluation_runs(settings) == 1
    finally:
        serve.terminate()
        serve.wait(timeout=60)


def _run_pipeline(api_url: str, deployment_id: str, request: dict, log: Path) -> dict[str, Any]:
    run = api(api_url, "POST", f"/deployments/{deployment_id}/create_flow_run",
              {"parameters": {"request": request}})  # fmt: skip
    final = wait_for_flow_run(api_url, run["id"], timeout_s=900)
    assert final["state"]["type"] == "COMPLETED", (final["state"], log.read_text()[-4000:])
    return final


def _subflow_names(api_url: str, parent_id: str) -> list[str]:
    runs = api(api_url, "POST", "/flow_runs/filter",
               {"flow_runs": {"parent_flow_run_id": {"any_": [parent_id]}},
                "sort": "START_TIME_ASC"})  # fmt: skip
    if not runs:
        # Subflows link to their parent through a task run of the parent's.
        tasks = api(api_url, "POST", "/task_runs/filter",
                    {"flow_runs": {"id": {"any_": [parent_id]}}})  # fmt: skip
        ids = [t["id"] for t in tasks]
        runs = api(api_url, "POST", "/flow_runs/filter",
                   {"flow_runs": {"parent_task_run_id": {"any_": ids}},
                    "sort": "START_TIME_ASC"})  # fmt: skip
    flows = {f["id"]: f["name"] for f in api(api_url, "POST", "/flows/filter", {})}
    return [flows[r["flow_id"]] for r in runs]


def _dataset_versions(settings: Settings) -> list[str]:
    from mlflow import MlflowClient

    from benchlab.tracking import setup_tracking

    experiment = setup_tracking(settings)
    runs = MlflowClient().search_runs([experiment], "tags.kind = 'curation'")
    return [r.info.run_id for r in runs]


def _evaluation_runs(settings: Settings) -> int:
    from mlflow import MlflowClient

    from benchlab.tracking import setup_tracking

    experiment = setup_tracking(settings)
    return len(MlflowClient().search_runs([experiment], "tags.kind = 'evaluation'"))
