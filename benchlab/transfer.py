"""Streaming bytes into and out of S3 with bounded memory, hashing them on the way."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from benchlab.errors import ChecksumError, StoreError

MiB = 1024 * 1024
BLOCK = MiB


class Readable(Protocol):
    """A binary file-like object."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes; empty at the end."""
        ...


@dataclass(frozen=True)
class UploadResult:
    """What :func:`upload_parts` stored."""

    key: str
    size: int
    sha256: str


def chunks_of(data: Iterable[bytes] | Readable, block: int = BLOCK) -> Iterator[bytes]:
    """Chunks of ``data``: an iterable of bytes as it is, a file object read in blocks."""
    if isinstance(data, Iterable):
        yield from data
    else:
        while chunk := data.read(block):
            yield chunk


def sha256_file(path: Path) -> str:
    """The sha256 of a file, read in blocks."""
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(BLOCK):
            hasher.update(chunk)
    return hasher.hexdigest()


def upload_parts(
    client: Any,
    bucket: str,
    target: str,
    chunks: Iterable[bytes],
    part_size: int,
    *,
    expected_sha256: str | None,
    size: int | None,
    final_key: str,
) -> UploadResult:
    """Upload ``chunks`` to ``target`` as a multipart upload, holding at most one part.

    The multipart upload starts when the first part is full; a stream shorter than one
    part becomes a single PutObject to ``final_key`` made once its sha256 is known. With
    ``expected_sha256`` the sha256 goes into the metadata at the start, and a mismatch
    aborts the upload so that nothing is stored. Any failure aborts the upload.

    Returns:
        The key written (``final_key`` for a small stream, else ``target``), size, sha256.

    Raises:
        ChecksumError: the bytes did not hash to ``expected_sha256``.
        StoreError: the stream's size was not ``size``.
    """
    metadata = {"sha256": expected_sha256} if expected_sha256 else {}
    hasher = hashlib.sha256()
    buffer = bytearray()
    total = 0
    upload_id: str | None = None
    parts: list[dict[str, Any]] = []

    def send_part(body: bytes) -> None:
        resp = client.upload_part(
            Bucket=bucket, Key=target, UploadId=upload_id, PartNumber=len(parts) + 1, Body=body
        )
        parts.append({"PartNumber": len(parts) + 1, "ETag": resp["ETag"]})

    try:
        for chunk in chunks:
            hasher.update(chunk)
            total += len(chunk)
            buffer += chunk
            while len(buffer) >= part_size:
                if upload_id is None:
                    upload_id = client.create_multipart_upload(
                        Bucket=bucket, Key=target, Metadata=metadata
                    )["UploadId"]
                with memoryview(buffer) as view:
                    part = bytes(view[:part_size])
                del buffer[:part_size]
                send_part(part)
                del part
        digest = hasher.hexdigest()
        if expected_sha256 is not None and digest != expected_sha256:
            raise ChecksumError(f"{final_key}: sha256 {digest} != expected {expected_sha256}")
        if size is not None and total != size:
            raise StoreError(f"{final_key}: got {total} bytes, expected {size}")
        if upload_id is None:
            client.put_object(
                Bucket=bucket, Key=final_key, Body=bytes(buffer), Metadata={"sha256": digest}
            )
            return UploadResult(key=final_key, size=total, sha256=digest)
        if buffer:
            send_part(bytes(buffer))
            buffer.clear()
        client.complete_multipart_upload(
            Bucket=bucket, Key=target, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
        upload_id = None
        return UploadResult(key=target, size=total, sha256=digest)
    finally:
        if upload_id is not None:
            # Best effort: the error that got us here matters more than a failed abort.
            with contextlib.suppress(Exception):
                client.abort_multipart_upload(Bucket=bucket, Key=target, UploadId=upload_id)


def write_verified(chunks: Iterable[bytes], dest: Path, sha256: str, what: str) -> Path:
    """Write ``chunks`` to ``dest`` through a temporary file in the same directory.

    ``dest`` is replaced atomically once the bytes are on disk and match ``sha256``; on
    any failure it is left as it was and the temporary file is removed.

    Raises:
        ChecksumError: the bytes did not match ``sha256``.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        hasher = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                hasher.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if hasher.hexdigest() != sha256:
            raise ChecksumError(f"{what}: sha256 {hasher.hexdigest()} != expected {sha256}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest
