"""The pipeline flow in-process: a failing stage stops the chain with a state that
names it; and the deployments' forms offer the configuration's names."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchlab.config.simulate import SimulateRequest
from benchlab.deployments import choices, host_zone, stage_deployments
from benchlab.pipeline import PipelineRequest
from benchlab.services.s3 import S3Endpoint
from benchlab.settings import Settings
from tests.fixtures.simulate import simulate_settings

HUB_MODEL = """
  - name: hub-only
    repo_id: org/not-in-any-bucket
    quant_tags: [Q4_K_M]
"""


def test_a_failed_stage_stops_the_chain(
    tmp_path: Path, s3_server: S3Endpoint, prefect_harness: None
) -> None:
    from flows.pipeline import pipeline

    settings = simulate_settings(tmp_path, s3_server, extra_models=HUB_MODEL).model_copy(
        # Nothing answers there: the download stage cannot plan.
        update={"hf_endpoint": "http://127.0.0.1:9"}
    )
    request = PipelineRequest(
        simulate=SimulateRequest(tasks=("guarded",), models=("hub-only",), agents=("script-solve",))
    )
    state = pipeline(request, settings, return_state=True)
    assert state.is_failed()
    assert state.message is not None and "stage download failed:" in state.message
    assert "org/not-in-any-bucket" in state.message or "127.0.0.1:9" in state.message
    # Nothing after the download ran: no sweep, no trial.
    assert _sweeps_and_trials(settings) == []


def test_forms_offer_the_configured_names_and_hide_settings(
    tmp_path: Path, s3_server: S3Endpoint
) -> None:
    settings = simulate_settings(tmp_path, s3_server)
    offered = choices(settings)
    assert offered.tasks == ("guarded", "missing-check", "unreachable")
    assert offered.models == ("gemma3-270m",)
    deployments = {d.name: d for d in stage_deployments(settings)}
    assert set(deployments) == {
        "download", "simulate", "curate", "evaluate", "report", "pipeline", "nightly"
    }  # fmt: skip
    for deployment in deployments.values():
        assert "settings" not in deployment._parameter_openapi_schema.properties
    schema = deployments["simulate"]._parameter_openapi_schema.definitions["SimulateRequest"]
    assert schema["properties"]["agents"]["items"]["enum"][:3] == [
        "pi",
        "mini-swe-agent",
        "opencode",
    ]
    download = deployments["download"]._parameter_openapi_schema.properties["models"]
    assert download["anyOf"][0]["items"]["enum"] == ["gemma3-270m"]
    (nightly,) = deployments["nightly"].schedules or ()
    assert nightly.schedule.cron == "0 2 * * *"  # type: ignore[union-attr]
    assert nightly.schedule.timezone == host_zone()  # type: ignore[union-attr]


@pytest.mark.parametrize("link", ["/usr/share/zoneinfo/Europe/Berlin", None])
def test_host_zone_reads_the_localtime_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, link: str | None
) -> None:
    import benchlab.deployments as deployments

    localtime = tmp_path / "localtime"
    if link is not None:
        localtime.symlink_to(link)
    monkeypatch.setattr(deployments, "LOCALTIME", localtime)
    expected = "Europe/Berlin" if link and Path(link).exists() else "UTC"
    assert host_zone() == expected


def _sweeps_and_trials(settings: Settings) -> list[str]:
    from mlflow import MlflowClient

    from benchlab.tracking import setup_tracking

    experiment = setup_tracking(settings)
    runs = MlflowClient().search_runs([experiment])
    return [r.info.run_id for r in runs if r.data.tags.get("kind") in ("sweep", "trial")]
