"""The object store against a real local S3 server."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from benchlab.errors import ChecksumError, StoreError
from benchlab.services.s3 import S3Endpoint
from benchlab.store import TEMP_PREFIX, ObjectStore

MiB = 1024 * 1024


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _chunks(data: bytes, size: int = 1_000_003) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


class Counting:
    """An iterable of chunks that counts how many were taken."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.taken = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.taken += 1
            yield chunk


def _all_keys(store: ObjectStore) -> list[str]:
    resp = store.client.list_objects_v2(Bucket=store.bucket)
    return [obj["Key"] for obj in resp.get("Contents", [])]


def _no_uploads(store: ObjectStore) -> bool:
    return not store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads")


def test_round_trip_keeps_sha256_in_metadata(store: ObjectStore, tmp_path: Path) -> None:
    data = b"hello gguf" * 1000
    info = store.put_stream("a/b.bin", _chunks(data, 777))
    assert info.sha256 == _sha(data) and info.size == len(data) and not info.skipped
    raw = store.client.head_object(Bucket=store.bucket, Key="a/b.bin")
    assert {k.lower(): v for k, v in raw["Metadata"].items()}["sha256"] == _sha(data)
    assert store.head("a/b.bin") == info
    out = store.get_to_file("a/b.bin", tmp_path / "sub" / "b.bin")
    assert out.read_bytes() == data
    assert store.head("missing") is None


def test_file_larger_than_a_part_goes_up_in_parts(store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "big.gguf"
    data = os.urandom(40 * MiB)
    src.write_bytes(data)
    info = store.put_file(src, "models/big.gguf")
    assert info.sha256 == _sha(data) and info.size == 40 * MiB
    etag = store.client.head_object(Bucket=store.bucket, Key="models/big.gguf")["ETag"]
    assert etag.strip('"').endswith("-3")  # 16 + 16 + 8 MiB
    out = store.get_to_file("models/big.gguf", tmp_path / "back.gguf")
    assert _sha(out.read_bytes()) == info.sha256
    assert _no_uploads(store)


@pytest.mark.parametrize("copy_threshold", [4096 * MiB, 5 * MiB])
def test_stream_of_unknown_sha_is_stored_with_its_sha(
    s3_server: S3Endpoint, store: ObjectStore, copy_threshold: int
) -> None:
    small = ObjectStore(s3_server, store.bucket, part_size=5 * MiB, copy_threshold=copy_threshold)
    data = os.urandom(12 * MiB)
    info = small.put_stream("m/x.gguf", _chunks(data), size=len(data))
    assert info.sha256 == _sha(data)
    assert small.head("m/x.gguf") == info
    assert _all_keys(store) == ["m/x.gguf"]  # the temporary object is gone
    assert not any(k.startswith(TEMP_PREFIX) for k in _all_keys(store))
    assert _no_uploads(store)


def test_checksum_mismatch_leaves_no_object_and_no_upload(
    s3_server: S3Endpoint, store: ObjectStore
) -> None:
    small = ObjectStore(s3_server, store.bucket, part_size=5 * MiB)
    data = os.urandom(12 * MiB)
    with pytest.raises(ChecksumError):
        small.put_stream("m/bad.gguf", _chunks(data), expected_sha256="0" * 64)
    assert small.head("m/bad.gguf") is None
    assert _all_keys(store) == []
    assert _no_uploads(store)
    with pytest.raises(ChecksumError):  # smaller than one part: never sent
        small.put_stream("m/tiny", [b"abc"], expected_sha256="0" * 64)
    assert _all_keys(store) == []


def test_wrong_size_leaves_nothing(s3_server: S3Endpoint, store: ObjectStore) -> None:
    small = ObjectStore(s3_server, store.bucket, part_size=5 * MiB)
    data = os.urandom(6 * MiB)
    with pytest.raises(StoreError, match="expected"):
        small.put_stream("m/short", _chunks(data), size=len(data) + 1)
    assert _all_keys(store) == [] and _no_uploads(store)


def test_same_sha_is_skipped_without_reading(store: ObjectStore, tmp_path: Path) -> None:
    data = os.urandom(3 * MiB)
    first = store.put_stream("m/f", _chunks(data), expected_sha256=_sha(data))
    counting = Counting(_chunks(data))
    again = store.put_stream("m/f", counting, expected_sha256=_sha(data), size=len(data))
    assert again.skipped and counting.taken == 0
    assert again.model_copy(update={"skipped": False}) == first
    src = tmp_path / "f"
    src.write_bytes(data)
    assert store.put_file(src, "m/f").skipped
    # A different sha at the same key is uploaded.
    changed = store.put_stream("m/f", [b"other"], expected_sha256=_sha(b"other"))
    assert not changed.skipped and store.head("m/f") == changed


def test_upload_memory_is_bounded(s3_server: S3Endpoint, store: ObjectStore) -> None:
    small = ObjectStore(s3_server, store.bucket, part_size=5 * MiB)
    block = os.urandom(MiB)

    def generate() -> Iterator[bytes]:
        for _ in range(32):
            yield block

    tracemalloc.start()
    try:
        small.put_stream("m/stream", generate())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * 5 * MiB, f"peak {peak / MiB:.1f} MiB for a 32 MiB upload"


def test_download_verifies_and_leaves_no_partial_file(store: ObjectStore, tmp_path: Path) -> None:
    store.put_stream("m/f", [b"payload"])
    dest = tmp_path / "f"
    with pytest.raises(ChecksumError):
        store.get_to_file("m/f", dest, expected_sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(StoreError, match="no object"):
        store.get_to_file("m/none", dest)


def test_json_documents_and_listing(store: ObjectStore) -> None:
    doc = {"files": [{"name": "x", "size": 3}], "revision": "main"}
    store.put_json("models/o/r/main/Q4/manifest.json", doc)
    store.put_stream("models/o/r/main/x.gguf", [b"xyz"])
    store.put_stream("other/y", [b"y"])
    assert store.get_json("models/o/r/main/Q4/manifest.json") == doc
    assert store.get_json("models/none.json") is None
    assert store.list("models/") == [
        "models/o/r/main/Q4/manifest.json",
        "models/o/r/main/x.gguf",
    ]
    store.delete("other/y")
    assert store.list() == store.list("models/")


def test_secrets_stay_out_of_reprs_and_errors(s3_server: S3Endpoint) -> None:
    wrong = S3Endpoint(
        url=s3_server.url,
        access_key=s3_server.access_key,
        secret_key=SecretStr("not-the-secret-0123456789"),
    )
    bad = ObjectStore(wrong, "whatever", max_attempts=1)
    with pytest.raises(StoreError) as caught:
        bad.head("k")
    for text in (str(caught.value), repr(caught.value), repr(bad)):
        assert "not-the-secret" not in text
        assert s3_server.secret_key.get_secret_value() not in text
