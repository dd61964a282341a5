"""The local model cache, fetching from a real local S3 server."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from benchlab.cache import ModelCache
from benchlab.errors import StoreError
from benchlab.manifest import Manifest, ManifestFile
from benchlab.store import ObjectStore

KiB = 1024


def _put(store: ObjectStore, key: str, size: int = 64 * KiB) -> tuple[ManifestFile, bytes]:
    data = os.urandom(size)
    info = store.put_stream(key, [data])
    assert info.sha256 is not None
    return ManifestFile(name=key.rsplit("/", 1)[-1], key=key, size=size, sha256=info.sha256), data


def _manifest(*files: ManifestFile) -> Manifest:
    return Manifest(
        model="m", repo_id="o/r", revision="main", quant="Q4_K_M", source="hf", files=files
    )


def test_fetch_downloads_then_reuses_without_the_store(store: ObjectStore, tmp_path: Path) -> None:
    file, data = _put(store, "models/o/r/main/a.gguf")
    cache = ModelCache(tmp_path / "cache", store, max_bytes=10 * 1024 * KiB)
    path = cache.fetch(_manifest(file))
    assert path == tmp_path / "cache/models/o/r/main/a.gguf" and path.read_bytes() == data
    store.delete(file.key)  # a second fetch must not need the store
    assert cache.fetch(_manifest(file)) == path
    assert path.read_bytes() == data


def test_changed_file_is_rehashed_and_fetched_again(store: ObjectStore, tmp_path: Path) -> None:
    file, data = _put(store, "models/o/r/main/a.gguf")
    cache = ModelCache(tmp_path, store, max_bytes=10 * 1024 * KiB)
    path = cache.fetch_file(file.key, file.sha256)

    # Same size, different bytes, newer mtime: detected by re-hashing.
    path.write_bytes(b"\0" * len(data))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert cache.fetch_file(file.key, file.sha256).read_bytes() == data

    # Truncated.
    path.write_bytes(data[:100])
    assert cache.fetch_file(file.key, file.sha256).read_bytes() == data

    # Touched but unchanged: re-hashed, kept, no download needed.
    store.delete(file.key)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert cache.fetch_file(file.key, file.sha256).read_bytes() == data

    # Corrupt with the object gone: the cache tries the store, and says so.
    path.write_bytes(b"x")
    with pytest.raises(StoreError, match="no object"):
        cache.fetch_file(file.key, file.sha256)


def test_least_recently_used_files_are_evicted(store: ObjectStore, tmp_path: Path) -> None:
    a, _ = _put(store, "models/o/r/main/a.gguf")
    b, _ = _put(store, "models/o/r/main/b.gguf")
    c, _ = _put(store, "models/o/r/main/c.gguf")
    cache = ModelCache(tmp_path, store, max_bytes=int(2.5 * 64 * KiB))
    pa = cache.fetch_file(a.key, a.sha256)
    time.sleep(0.01)
    pb = cache.fetch_file(b.key, b.sha256)
    time.sleep(0.01)
    cache.fetch_file(a.key, a.sha256)  # a is now more recent than b
    time.sleep(0.01)
    pc = cache.fetch_file(c.key, c.sha256)
    assert pa.exists() and pc.exists() and not pb.exists()
    assert [p.name for p, _ in cache.entries()] == ["a.gguf", "c.gguf"]


def test_the_returned_files_are_never_evicted(store: ObjectStore, tmp_path: Path) -> None:
    first, _ = _put(store, "models/o/r/main/m-00001-of-00002.gguf")
    second, _ = _put(store, "models/o/r/main/m-00002-of-00002.gguf")
    other, _ = _put(store, "models/o/r/main/other.gguf")
    cache = ModelCache(tmp_path, store, max_bytes=KiB)
    cache.fetch_file(other.key, other.sha256)
    path = cache.fetch(_manifest(first, second))
    assert path.name == "m-00001-of-00002.gguf"
    assert sorted(p.name for p in path.parent.glob("*.gguf")) == [
        "m-00001-of-00002.gguf",
        "m-00002-of-00002.gguf",
    ]


def test_concurrent_fetches_of_one_key_agree(store: ObjectStore, tmp_path: Path) -> None:
    file, data = _put(store, "models/o/r/main/a.gguf", size=2 * 1024 * KiB)
    cache = ModelCache(tmp_path, store, max_bytes=100 * 1024 * KiB)
    results: list[Path] = []
    errors: list[BaseException] = []

    def fetch() -> None:
        try:
            results.append(cache.fetch_file(file.key, file.sha256))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(set(results)) == 1
    assert (
        hashlib.sha256(results[0].read_bytes()).hexdigest()
        == file.sha256
        == hashlib.sha256(data).hexdigest()
    )
    assert [p.name for p in results[0].parent.iterdir() if p.name.endswith(".part")] == []


def test_keys_that_escape_the_cache_are_refused(store: ObjectStore, tmp_path: Path) -> None:
    cache = ModelCache(tmp_path, store, max_bytes=KiB)
    with pytest.raises(StoreError, match="refusing"):
        cache.path_for("models/../../etc/passwd")
    with pytest.raises(StoreError, match="refusing"):
        cache.path_for("/etc/passwd")
