"""The download flow under Prefect: one task per file, retries, none on a checksum error."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from benchlab.errors import ChecksumError
from benchlab.services.s3 import S3Endpoint
from benchlab.settings import Settings
from benchlab.store import ObjectStore
from tests.fixtures.hub import HubRepos


def _settings(
    tmp_path: Path, s3: S3Endpoint, store: ObjectStore, hub: HubRepos, tags: str
) -> Settings:
    models = tmp_path / "models.yaml"
    models.write_text(textwrap.dedent(f"""\
        models:
          - {{name: tiny, repo_id: {hub.tiny}, quant_tags: [{tags}]}}
          - {{name: gpt, provider: openai, base_url: "https://x/v1", api_key_env: K}}
        """))  # fmt: skip
    return Settings(
        data_dir=tmp_path / "data", models_file=models, hf_endpoint=hub.hub.url,
        s3_endpoint=s3.url, s3_access_key=s3.access_key, s3_secret_key=s3.secret_key,
        s3_bucket=store.bucket, download_parallel=2,
    )  # fmt: skip


def _task_runs(flow_run_id: Any) -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC,
            limit=100,
        )
    return {run.name: run for run in runs}


@pytest.mark.usefixtures("prefect_harness")
def test_flow_moves_each_file_in_a_task_retries_the_hub_then_skips(
    tmp_path: Path, s3_server: S3Endpoint, store: ObjectStore, hub_repos: HubRepos
) -> None:
    from flows.download import download

    settings = _settings(tmp_path, s3_server, store, hub_repos, "Q4_K_M, Q8_0")
    hub_repos.hub.fail_next["tiny-Q4_K_M.gguf"] = 1  # one 503: a retry must get it
    state = download(settings=settings, return_state=True)
    report = state.result()
    assert report.sent_bytes == 1000 * 1024 and report.files == 4 and len(report.manifests) == 2
    assert report.api_models == ("gpt",)
    runs = _task_runs(state.state_details.flow_run_id)
    transfers = {n: r for n, r in runs.items() if n.startswith("transfer ")}
    assert len(transfers) == 4 and all(
        r.state_type.value == "COMPLETED" for r in transfers.values()
    )
    assert transfers["transfer tiny-Q4_K_M.gguf"].run_count == 2
    assert transfers["transfer Q8_0/tiny-Q8_0-00002-of-00003.gguf"].run_count == 1
    for key in store.list():
        head = store.head(key)
        assert head is not None and head.sha256 is not None

    again = download(models=["tiny"], settings=settings)
    assert again.sent_bytes == 0 and again.skipped_files == 4


@pytest.mark.usefixtures("prefect_harness")
def test_flow_does_not_retry_a_checksum_error_and_dry_run_moves_nothing(
    tmp_path: Path, s3_server: S3Endpoint, store: ObjectStore, hub_repos: HubRepos
) -> None:
    from flows.download import download

    settings = _settings(tmp_path, s3_server, store, hub_repos, "Q5_K_M")
    dry = download(dry_run=True, settings=settings)
    assert dry.dry_run and dry.sent_bytes == 300 * 1024 and store.list() == []

    gets = hub_repos.hub.lfs_gets["tiny-Q5_K_M.gguf"]
    state = download(settings=settings, return_state=True)
    assert state.is_failed()
    with pytest.raises(ChecksumError):
        state.result()
    assert hub_repos.hub.lfs_gets["tiny-Q5_K_M.gguf"] == gets + 1  # tried once, not retried
    assert store.list() == []
