"""The S3 server dies during an upload and during a cache fetch, then comes back.

A SeaweedFS server of these tests' own (the session's must stay up) is SIGKILLed in
the middle of a transfer and restarted on the same ports and data directory. Retries
complete the transfer; no partial object is ever visible under the final key, and no
half-fetched file is ever used from the cache. Nothing is lost.
"""

from __future__ import annotations

import hashlib
import os
import signal
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from benchlab.cache import ModelCache
from benchlab.download.execute import is_retryable
from benchlab.errors import StoreError
from benchlab.services.s3 import LocalS3Server
from benchlab.settings import Settings
from benchlab.store import ObjectStore
from tests.hub_double import HubDouble, HubFile

MiB = 1024 * 1024
BIG = 48 * MiB  # three parts of the store's default 16 MiB


class Outage:
    """Kills a server's process group at once and restarts it ``down_s`` later."""

    def __init__(
        self,
        server: LocalS3Server,
        down_s: float,
        after_restart: Callable[[], None] | None = None,
    ) -> None:
        self.server, self.down_s, self.after_restart = server, down_s, after_restart
        self.kills = 0
        self.restarted = threading.Event()
        self.error: BaseException | None = None

    def kill(self) -> None:
        pid = self.server.pid
        assert pid is not None, "the server is not running"
        os.killpg(pid, signal.SIGKILL)
        self.server.stop()  # reaps it and removes the sockets it left
        self.kills += 1
        threading.Thread(target=self._restart, daemon=True).start()

    def _restart(self) -> None:
        time.sleep(self.down_s)
        try:
            self.server.start()
            if self.after_restart is not None:
                self.after_restart()
        except BaseException as exc:  # the test reports it
            self.error = exc
        self.restarted.set()

    def wait_restarted(self) -> None:
        assert self.restarted.wait(60), "the server was not restarted"
        assert self.error is None, self.error


class KeyWatcher:
    """Polls one key while a transfer runs, recording every object seen under it."""

    def __init__(self, look: Callable[[], tuple[int, str | None] | None]) -> None:
        self.look = look
        self.seen: list[tuple[int, str | None]] = []
        self.looks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                found = self.look()
            except Exception:
                found = None  # the server is down; nothing can be seen then
            else:
                self.looks += 1
            if found is not None:
                self.seen.append(found)
            self._stop.wait(0.05)

    def __enter__(self) -> KeyWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def random_file(path: Path, size: int) -> str:
    """Write ``size`` random bytes to ``path`` in blocks; returns their sha256."""
    hasher = hashlib.sha256()
    with path.open("wb") as out:
        for _ in range(0, size, MiB):
            block = os.urandom(min(MiB, size - out.tell()))
            hasher.update(block)
            out.write(block)
    return hasher.hexdigest()


def object_sha256(store: ObjectStore, key: str) -> str:
    """The sha256 of the bytes actually stored at ``key``."""
    hasher = hashlib.sha256()
    body = store.client.get_object(Bucket=store.bucket, Key=key)["Body"]
    for chunk in body.iter_chunks(MiB):
        hasher.update(chunk)
    return hasher.hexdigest()


@pytest.fixture(scope="module")
def fault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalS3Server]:
    """An S3 server of these tests only, since they kill it."""
    with LocalS3Server(tmp_path_factory.mktemp("s3-faults")) as server:
        yield server


@pytest.fixture
def fault_store(fault_server: LocalS3Server) -> ObjectStore:
    """A bucket on that server, with a client that gives up quickly on a dead server."""
    store = ObjectStore(fault_server.endpoint, f"faults-{os.urandom(4).hex()}", max_attempts=2)
    store.ensure_bucket()
    return store


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_download_flow_upload_survives_server_killed_mid_multipart(
    tmp_path: Path, fault_server: LocalS3Server, fault_store: ObjectStore
) -> None:
    from flows.download import download

    name = "big-Q4_K_M.gguf"
    sha = random_file(tmp_path / name, BIG)
    cut_uploads: list[str] = []

    def list_uploads() -> None:
        uploads = fault_store.client.list_multipart_uploads(Bucket=fault_store.bucket)
        cut_uploads.extend(u["Key"] for u in uploads.get("Uploads", []))

    outage = Outage(fault_server, down_s=3.0, after_restart=list_uploads)
    with HubDouble() as hub:
        commit = hub.add_repo("acme/big-GGUF", [HubFile(name=name, paths=(tmp_path / name,))])
        key = f"models/acme/big-GGUF/{commit}/{name}"
        # Three quarters of the file read from the hub: the first part is on the server.
        hub.on_bytes[name] = (BIG * 3 // 4, outage.kill)
        models = tmp_path / "models.yaml"
        models.write_text(textwrap.dedent("""\
            models:
              - {name: big, repo_id: acme/big-GGUF, quant_tags: [Q4_K_M]}
            """))  # fmt: skip
        endpoint = fault_server.endpoint
        settings = Settings(
            data_dir=tmp_path / "data", models_file=models, hf_endpoint=hub.url,
            s3_endpoint=endpoint.url, s3_access_key=endpoint.access_key,
            s3_secret_key=endpoint.secret_key, s3_bucket=fault_store.bucket,
            download_parallel=1,
        )  # fmt: skip

        def look() -> tuple[int, str | None] | None:
            listed = key in fault_store.list("models/")
            info = fault_store.head(key)  # after the listing: an object never goes away
            if listed and info is None:
                return (-1, "listed but not there")
            return None if info is None else (info.size, info.sha256)

        with KeyWatcher(look) as watcher:
            report = download(settings=settings)
        outage.wait_restarted()

    assert outage.kills == 1 and hub.lfs_gets[name] >= 2  # cut, then sent again
    assert report.files == 1 and report.sent_bytes >= BIG
    # Never a partial object under the key: whatever was seen there was whole.
    assert watcher.looks > 0
    assert set(watcher.seen) <= {(BIG, sha)}, set(watcher.seen)
    info = fault_store.head(key)
    assert info is not None and (info.size, info.sha256) == (BIG, sha)
    assert object_sha256(fault_store, key) == sha
    # The attempt the kill cut left its parts on the server (listed just after the
    # restart, when the retry may already have begun its own upload of the same key);
    # the success aborted them.
    assert cut_uploads and set(cut_uploads) == {key}
    uploads = fault_store.client.list_multipart_uploads(Bucket=fault_store.bucket)
    assert uploads.get("Uploads", []) == []


def test_stream_of_unknown_sha256_killed_mid_upload_is_retried_whole(
    tmp_path: Path, fault_server: LocalS3Server, fault_store: ObjectStore
) -> None:
    """A stream whose sha256 is known only at its end goes through a temporary key: a
    kill leaves nothing under the final key, and the retry (as the download task retries,
    on :func:`is_retryable` errors) stores it whole with its sha256."""
    size = 24 * MiB
    sha = random_file(tmp_path / "blob", size)
    store = ObjectStore(
        fault_server.endpoint, fault_store.bucket, part_size=8 * MiB, max_attempts=2
    )
    outage = Outage(fault_server, down_s=2.0)

    def chunks(kill_at: int | None) -> Iterator[bytes]:
        with (tmp_path / "blob").open("rb") as handle:
            while block := handle.read(MiB):
                if kill_at is not None and handle.tell() == kill_at:
                    outage.kill()
                yield block

    errors: list[BaseException] = []
    for attempt in range(6):
        try:
            info = store.put_stream("blobs/blob", chunks(12 * MiB if attempt == 0 else None))
            break
        except StoreError as exc:
            assert is_retryable(exc), exc
            errors.append(exc)
            if outage.restarted.is_set():
                assert store.head("blobs/blob") is None and store.list() == []
            time.sleep(2**attempt)
    else:
        pytest.fail(f"upload never completed: {errors}")
    outage.wait_restarted()
    assert outage.kills == 1 and len(errors) >= 1
    assert (info.size, info.sha256) == (size, sha)
    assert object_sha256(store, "blobs/blob") == sha
    assert store.list() == ["blobs/blob"]


@pytest.mark.slow
def test_cache_fetch_survives_server_killed_mid_download(
    tmp_path: Path, fault_server: LocalS3Server, fault_store: ObjectStore
) -> None:
    size = 64 * MiB
    sha = random_file(tmp_path / "model.gguf", size)
    key = "models/acme/m/rev/model.gguf"
    fault_store.put_file(tmp_path / "model.gguf", key)
    cache = ModelCache(tmp_path / "cache", fault_store, max_bytes=1 << 40)
    outage = Outage(fault_server, down_s=3.0)
    received = [0]

    def progress(n: int) -> None:
        received[0] += n
        if received[0] >= 16 * MiB and not outage.kills:
            outage.kill()

    path = cache.path_for(key)

    def look() -> tuple[int, str | None] | None:
        return (path.stat().st_size, None) if path.exists() else None

    with KeyWatcher(look) as watcher:
        fetched = cache.fetch_file(key, sha, progress=progress)
    outage.wait_restarted()

    assert outage.kills == 1
    assert received[0] >= size + 16 * MiB  # the cut download, then a whole one
    assert fetched == path
    assert set(watcher.seen) <= {(size, None)}  # never a partial file in place
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
    assert list(path.parent.glob("*.part")) == []


def test_truncated_or_half_fetched_cache_file_is_never_used(
    tmp_path: Path, fault_store: ObjectStore
) -> None:
    size = 6 * MiB
    sha = random_file(tmp_path / "model.gguf", size)
    key = "models/acme/m/rev/model.gguf"
    fault_store.put_file(tmp_path / "model.gguf", key)
    cache = ModelCache(tmp_path / "cache", fault_store, max_bytes=1 << 40)
    received = [0]

    def count(n: int) -> None:
        received[0] += n

    def fetch() -> tuple[Path, int]:
        received[0] = 0
        path = cache.fetch_file(key, sha, progress=count)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
        return path, received[0]

    path, sent = fetch()
    assert sent == size
    assert fetch() == (path, 0)  # a good copy is used as it is

    # Truncated in place, its sidecar still describing the whole file.
    with path.open("r+b") as handle:
        handle.truncate(size // 2)
    assert fetch() == (path, size)

    # Truncated with no sidecar at all, and a temporary file of a fetch that died.
    path.with_name(path.name + ".cache.json").unlink()
    with path.open("r+b") as handle:
        handle.truncate(size - 1)
    stale = path.with_name(f".{path.name}.dead.part")
    stale.write_bytes(b"GGUF")
    assert fetch() == (path, size)
    assert not stale.exists()
