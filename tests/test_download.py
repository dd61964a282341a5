"""The download stage without Prefect: plan, transfer, skip, verify, recover."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchlab.cache import ModelCache
from benchlab.config import ApiModel, LocalModel, ModelsFile
from benchlab.download import execute_plan, is_retryable, plan_download, transfer_file
from benchlab.download.plan import select_models
from benchlab.download.report import run_report
from benchlab.errors import ChecksumError, StoreError, UsageError
from benchlab.hub import Hub
from benchlab.manifest import read_manifest
from benchlab.services.s3 import LocalS3Server
from benchlab.store import ObjectStore
from benchlab.transfer import MiB
from tests.fixtures.hub import HubRepos


def _tiny(hub_repos: HubRepos, *tags: str, revision: str = "main") -> LocalModel:
    return LocalModel(name="tiny", repo_id=hub_repos.tiny, revision=revision, quant_tags=tags)


def _stored_sha(store: ObjectStore, key: str) -> str:
    """sha256 of the object's bytes as read back from the bucket."""
    body = store.client.get_object(Bucket=store.bucket, Key=key)["Body"]
    hasher = hashlib.sha256()
    for chunk in body.iter_chunks(MiB):
        hasher.update(chunk)
    return hasher.hexdigest()


def test_download_is_verified_and_a_second_run_moves_nothing(
    store: ObjectStore, hub_repos: HubRepos
) -> None:
    hub = Hub(hub_repos.hub.url)
    model = _tiny(hub_repos, "Q4_K_M", "q8_0", revision="v1")
    plan = plan_download(store, hub, [model])
    names = [f.name for f in plan.files]
    assert names == ["tiny-Q4_K_M.gguf"] + [
        f"Q8_0/tiny-Q8_0-0000{i}-of-00003.gguf" for i in (1, 2, 3)
    ]
    assert not any(f.skip for f in plan.files) and plan.bytes_to_send == 1000 * 1024
    results, manifests = execute_plan(plan, store, hub, parallel=2)
    assert sum(r.sent for r in results) == 1000 * 1024
    prefix = f"models/{hub_repos.tiny}/{hub_repos.tiny_commit}/"
    for result in results:
        assert result.key.startswith(prefix)
        head = store.head(result.key)
        assert head is not None and head.sha256 == result.sha256 == _stored_sha(store, result.key)
    q8 = read_manifest(store, hub_repos.tiny, hub_repos.tiny_commit, "q8_0")
    assert q8 is not None and q8.source == "hf" and [f.name for f in q8.files] == names[1:]
    assert manifests[1] == q8

    again = plan_download(store, hub, [model])
    assert all(f.skip for f in again.files) and again.bytes_to_send == 0
    results2, manifests2 = execute_plan(again, store, hub)
    report = run_report(again, results2, [])
    assert report.sent_bytes == 0 and report.skipped_files == 4
    assert report.summary().startswith("transferred 0 bytes; skipped 1.02 MB (4 of 4 files")
    assert manifests2[1].created_at == q8.created_at  # not rewritten


def test_cache_fetches_a_downloaded_model_by_name_and_quant(
    store: ObjectStore, hub_repos: HubRepos, tmp_path: Path
) -> None:
    hub = Hub(hub_repos.hub.url)
    model = _tiny(hub_repos, "q8_0", revision="v1")
    cache = ModelCache(tmp_path / "cache", store, max_bytes=10 * MiB)
    with pytest.raises(StoreError, match="run: benchlab download --model tiny"):
        cache.fetch_model(model, "q8_0")
    execute_plan(plan_download(store, hub, [model]), store, hub)
    path = cache.fetch_model(model, "q8_0")
    # The branch name led to the commit's manifest; split parts sit side by side.
    assert path.name == "tiny-Q8_0-00001-of-00003.gguf"
    assert sorted(p.name for p in path.parent.glob("*.gguf")) == [
        f"tiny-Q8_0-0000{i}-of-00003.gguf" for i in (1, 2, 3)
    ]
    q8 = read_manifest(store, hub_repos.tiny, hub_repos.tiny_commit, "q8_0")
    assert q8 is not None
    assert hashlib.sha256(path.read_bytes()).hexdigest() == q8.files[0].sha256


def test_checksum_mismatch_leaves_no_object_and_is_not_retried(
    store: ObjectStore, hub_repos: HubRepos
) -> None:
    hub = Hub(hub_repos.hub.url)
    plan = plan_download(store, hub, [_tiny(hub_repos, "Q5_K_M")])
    (quant,) = plan.quants
    with pytest.raises(ChecksumError) as err:
        transfer_file(store, hub, quant.files[0], quant)
    assert not is_retryable(err.value)
    assert store.list() == [] and store.head(quant.files[0].key) is None
    assert store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []


def test_plan_transfers_nothing_and_api_models_are_skipped(
    store: ObjectStore, hub_repos: HubRepos
) -> None:
    api = ApiModel(name="gpt", provider="openai", base_url="https://x/v1", api_key_env="K")
    tiny = _tiny(hub_repos, "Q4_K_M")
    models = ModelsFile.model_validate({"models": [tiny.model_dump(), api.model_dump()]})
    local, apis = select_models(models)
    plan = plan_download(store, Hub(hub_repos.hub.url), local, apis)
    assert plan.api_models == ("gpt",) and len(plan.files) == 1
    assert store.list() == []
    assert select_models(models, provider="openai") == ([], [api])
    with pytest.raises(UsageError, match="unknown model 'nope'; valid: gpt, tiny"):
        select_models(models, ["nope"])
    with pytest.raises(UsageError, match="no model of provider 'anthropic'"):
        select_models(models, provider="anthropic")


def test_file_source_goes_through_the_same_path(
    store: ObjectStore, hub_repos: HubRepos, tmp_path: Path
) -> None:
    (tmp_path / "w-Q8_0.gguf").write_bytes(b"GGUF" + bytes(range(256)) * 100)
    model = LocalModel(name="w", repo_id="me/w", quant_tags=("Q8_0",), source="file:w-Q8_0.gguf")
    hub = Hub(hub_repos.hub.url)
    plan = plan_download(store, hub, [model], base_dir=tmp_path)
    results, (manifest,) = execute_plan(plan, store, hub)
    assert results[0].sent == 25604 and manifest.source == "file:w-Q8_0.gguf"
    assert manifest.files[0].key == "models/me/w/main/w-Q8_0.gguf"
    again = plan_download(store, hub, [model], base_dir=tmp_path)
    assert again.files[0].skip and execute_plan(again, store, hub)[0][0].sent == 0


class _SamePortS3(LocalS3Server):
    """The local S3 server, restarted on the ports it had (as a real service comes back)."""

    _saved: list[str] | None = None

    def _argv(self, weed: Path, identities: Path) -> list[str]:
        if self._saved is None:
            self._saved = super()._argv(weed, identities)
        return self._saved


@pytest.fixture
def restartable_s3(tmp_path: Path) -> Iterator[_SamePortS3]:
    server = _SamePortS3(tmp_path / "s3")
    server.start()
    yield server
    server.stop()


def _wait_writable(store: ObjectStore) -> None:
    """A freshly started server answers health checks a moment before it accepts writes."""
    for _ in range(60):
        try:
            store.ensure_bucket()
            store.put_json("warm-up", {})
            store.delete("warm-up")
            return
        except StoreError:
            time.sleep(0.5)
    raise AssertionError("the restarted S3 server never accepted a write")


def test_s3_down_mid_upload_then_back_retry_completes(
    restartable_s3: _SamePortS3, hub_repos: HubRepos
) -> None:
    store = ObjectStore(restartable_s3.endpoint, "restart", part_size=5 * MiB, max_attempts=1)
    _wait_writable(store)
    hub = Hub(hub_repos.hub.url)
    plan = plan_download(store, hub, [_tiny(hub_repos, "Q6_K")])
    (quant,) = plan.quants
    stopped = threading.Event()

    def stop_s3() -> None:
        restartable_s3.stop()
        stopped.set()

    # The double stops S3 once 7 MiB of the 12 MiB file have been served: parts are in flight.
    hub_repos.hub.on_bytes["tiny-Q6_K.gguf"] = (7 * MiB, stop_s3)
    with pytest.raises(StoreError) as err:
        transfer_file(store, hub, quant.files[0], quant)
    assert stopped.wait(60) and is_retryable(err.value), err.value
    restartable_s3.start()
    assert restartable_s3.endpoint.url == store.endpoint_url
    _wait_writable(store)
    assert store.head(quant.files[0].key) is None and store.list() == []

    result = transfer_file(store, hub, quant.files[0], quant)
    assert result.sent == 12 * MiB and store.list() == [quant.files[0].key]
    assert _stored_sha(store, result.key) == result.sha256 == quant.files[0].sha256
