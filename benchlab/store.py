"""The object store: model files and manifests in one S3 bucket, each object with its sha256.

Every object carries its sha256 in the user metadata key ``sha256``. S3 takes metadata
when an upload starts, so an upload whose sha256 is known beforehand (the hub publishes
it, a package ships it, :meth:`ObjectStore.put_file` hashes the local file first) is
written straight to its key, and a mismatch aborts the multipart upload so no object is
left. A stream whose sha256 is only known at its end goes to a temporary key under
``.benchlab-uploads/`` and is then copied server-side to its key with the sha256 as
metadata (a managed copy, multipart above ``copy_threshold``), and the temporary object is
deleted. Copying onto the final key itself was not chosen: for a moment that key would
hold an object without its sha256. Streams smaller than one part are one PutObject, made
when their sha256 is known.

An upload cut by a failure of the service (it stopped, the network broke) leaves nothing
under its key: a multipart upload is invisible until it is completed. Its parts stay on
the server until the next successful upload of that key aborts it. Failures worth another
try raise :class:`StoreUnavailable`.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from benchlab.errors import ChecksumError, StoreError
from benchlab.services.s3_keys import S3Endpoint, s3_client
from benchlab.transfer import (
    MiB,
    Readable,
    chunks_of,
    sha256_file,
    upload_parts,
    write_verified,
)

SHA256_KEY = "sha256"
TEMP_PREFIX = ".benchlab-uploads/"
MIN_PART_SIZE = 5 * MiB


class StoreUnavailable(StoreError):
    """The S3 service could not be reached, or failed during a transfer: worth another try."""


class ObjectInfo(BaseModel):
    """An object in the store."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    key: str
    """The object's key in the bucket."""

    size: int
    """Size in bytes."""

    sha256: str | None
    """The sha256 from the object's metadata; None for objects not written by benchlab."""

    skipped: bool = False
    """True when an upload was skipped because the same bytes were already stored."""


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _transient(exc: ClientError | BotoCoreError) -> bool:
    """Whether a boto error says the service failed rather than the request was wrong."""
    if isinstance(exc, BotoCoreError):
        return True  # connection refused or reset, timeouts, a body cut short
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return status >= 500 or _code(exc) in ("SlowDown", "RequestTimeout", "InternalError")


def _sha256_of(metadata: Mapping[str, str]) -> str | None:
    # Some servers return metadata keys in canonical header case (``Sha256``).
    return {k.lower(): v for k, v in metadata.items()}.get(SHA256_KEY)


class ObjectStore:
    """One bucket of an S3 service, through boto3.

    Args:
        endpoint: The S3 API and its keys.
        bucket: The bucket; :meth:`ensure_bucket` creates it.
        part_size: Size of multipart upload parts; the most an upload holds in memory.
        copy_threshold: Above this size a server-side copy is done in parts (S3 caps a
            single CopyObject at 5 GiB).
        max_attempts: Attempts per request, with backoff, for throttling and network errors.
    """

    def __init__(
        self,
        endpoint: S3Endpoint,
        bucket: str,
        *,
        part_size: int = 16 * MiB,
        copy_threshold: int = 4096 * MiB,
        max_attempts: int = 5,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (an S3 limit)")
        self.endpoint_url = endpoint.url
        self.bucket = bucket
        self.part_size = part_size
        self.copy_config = TransferConfig(
            multipart_threshold=copy_threshold, multipart_chunksize=max(copy_threshold, 5 * MiB)
        )
        self.client: Any = s3_client(endpoint, max_attempts=max_attempts)

    def __repr__(self) -> str:
        return f"ObjectStore({self.endpoint_url!r}, bucket={self.bucket!r})"

    @contextlib.contextmanager
    def _errors(self, action: str, key: str = "") -> Iterator[None]:
        """Turn boto errors into :class:`StoreError` naming the action and object."""
        try:
            yield
        except (ClientError, BotoCoreError) as exc:
            where = f"s3://{self.bucket}/{key}" if key else f"bucket {self.bucket!r}"
            error = StoreUnavailable if _transient(exc) else StoreError
            raise error(f"{action} {where} at {self.endpoint_url} failed: {exc}") from None

    def ensure_bucket(self) -> None:
        """Create the bucket unless it exists."""
        with self._errors("head"):
            try:
                self.client.head_bucket(Bucket=self.bucket)
                return
            except ClientError as exc:
                if _code(exc) not in ("404", "NoSuchBucket"):
                    raise
        with self._errors("create"):
            try:
                self.client.create_bucket(Bucket=self.bucket)
            except ClientError as exc:
                code = _code(exc)
                if code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise

    def head(self, key: str) -> ObjectInfo | None:
        """The object at ``key``, or None if there is none."""
        with self._errors("head", key):
            try:
                resp = self.client.head_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                    return None
                raise
        return ObjectInfo(
            key=key, size=int(resp["ContentLength"]), sha256=_sha256_of(resp.get("Metadata", {}))
        )

    def put_stream(
        self,
        key: str,
        data: Iterable[bytes] | Readable,
        *,
        expected_sha256: str | None = None,
        size: int | None = None,
    ) -> ObjectInfo:
        """Upload a stream in parts of ``part_size``, never holding more than one part.

        Args:
            key: Where the object goes.
            data: Chunks of bytes, or a binary file object read in blocks.
            expected_sha256: The sha256 the bytes must have; when given and an object with
                that sha256 is already at ``key``, nothing is read or sent.
            size: The expected size in bytes, checked at the end.

        Returns:
            The stored object; ``skipped`` is True when nothing was uploaded.

        Raises:
            ChecksumError: the bytes did not hash to ``expected_sha256``; nothing is stored.
            StoreError: the size differed, or the S3 service failed.
        """
        if expected_sha256 is not None:
            found = self.head(key)
            if found and found.sha256 == expected_sha256 and size in (None, found.size):
                return found.model_copy(update={"skipped": True})
        target = key if expected_sha256 is not None else f"{TEMP_PREFIX}{uuid.uuid4().hex}"
        started = datetime.now(UTC)
        with self._errors("upload", key):
            result = upload_parts(
                self.client, self.bucket, target, chunks_of(data), self.part_size,
                expected_sha256=expected_sha256, size=size, final_key=key,
            )  # fmt: skip
            if result.key != key:
                try:
                    self.client.copy(
                        {"Bucket": self.bucket, "Key": target}, self.bucket, key,
                        ExtraArgs={"Metadata": {SHA256_KEY: result.sha256},
                                   "MetadataDirective": "REPLACE"},
                        Config=self.copy_config,
                    )  # fmt: skip
                finally:
                    self.client.delete_object(Bucket=self.bucket, Key=target)
        self._abort_stale_uploads(key, before=started)
        return ObjectInfo(key=key, size=result.size, sha256=result.sha256)

    def _abort_stale_uploads(self, key: str, *, before: datetime) -> int:
        """Abort the multipart uploads of ``key`` begun before ``before``; returns how many.

        They are earlier attempts that a stopped service cut off (their abort could not
        reach it), kept on the server until now; the key holds complete bytes at this
        point, so a writer still racing on it fails, retries, and finds them. Best effort:
        the upload that got here has succeeded whatever this does.
        """
        aborted = 0
        with contextlib.suppress(ClientError, BotoCoreError):
            listing = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=key)
            for upload in listing.get("Uploads", []):
                if upload["Key"] == key and upload["Initiated"] < before:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=key, UploadId=upload["UploadId"]
                    )
                    aborted += 1
        return aborted

    def put_file(self, path: Path, key: str, expected_sha256: str | None = None) -> ObjectInfo:
        """Upload a local file; skipped when an object with its sha256 is already at ``key``.

        The file is hashed first when ``expected_sha256`` is not given, so that the sha256
        goes into the metadata at the start of the upload and an unchanged file is skipped.
        """
        sha = expected_sha256 or sha256_file(path)
        with path.open("rb") as handle:
            return self.put_stream(key, handle, expected_sha256=sha, size=path.stat().st_size)

    def get_to_file(
        self,
        key: str,
        dest: Path,
        expected_sha256: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> Path:
        """Download ``key`` to ``dest``, verified against its sha256, replacing ``dest`` atomically.

        The bytes go to a temporary file beside ``dest``; a download cut short leaves
        ``dest`` as it was.

        Args:
            key: The object.
            dest: The local file to create or replace.
            expected_sha256: The sha256 to verify against; default the object's metadata.
            progress: Called with the size of each block as it arrives.

        Raises:
            ChecksumError: the downloaded bytes did not match; ``dest`` is left as it was.
            StoreUnavailable: the S3 service failed or stopped during the download.
            StoreError: no such object, or no known sha256.
        """
        with self._errors("download", key):
            try:
                resp = self.client.get_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if _code(exc) in ("404", "NoSuchKey"):
                    raise StoreError(f"no object s3://{self.bucket}/{key}") from None
                raise
            want = expected_sha256 or _sha256_of(resp.get("Metadata", {}))
            if want is None:
                resp["Body"].close()
                raise StoreError(f"s3://{self.bucket}/{key} has no sha256 to verify against")
            body = resp["Body"]
            try:
                return write_verified(
                    _counted(body.iter_chunks(MiB), progress),
                    dest,
                    want,
                    f"s3://{self.bucket}/{key}",
                )
            finally:
                body.close()

    def put_json(self, key: str, data: Any) -> ObjectInfo:
        """Store ``data`` as a JSON document (manifests)."""
        body = json.dumps(data, indent=2, sort_keys=True).encode()
        sha = hashlib.sha256(body).hexdigest()
        with self._errors("upload", key):
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType="application/json",
                Metadata={SHA256_KEY: sha},
            )  # fmt: skip
        return ObjectInfo(key=key, size=len(body), sha256=sha)

    def get_json(self, key: str) -> Any:
        """The JSON document at ``key``, or None if there is none."""
        with self._errors("download", key):
            try:
                resp = self.client.get_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if _code(exc) in ("404", "NoSuchKey"):
                    return None
                raise
            body: bytes = resp["Body"].read()
        want = _sha256_of(resp.get("Metadata", {}))
        if want is not None and hashlib.sha256(body).hexdigest() != want:
            raise ChecksumError(f"s3://{self.bucket}/{key}: document does not match its sha256")
        return json.loads(body)

    def list(self, prefix: str = "") -> builtins.list[str]:
        """Keys under ``prefix``, sorted; temporary upload objects are left out."""
        keys: builtins.list[str] = []
        with self._errors("list", prefix):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return sorted(k for k in keys if not k.startswith(TEMP_PREFIX))

    def delete(self, key: str) -> None:
        """Delete the object at ``key``; no error if there is none."""
        with self._errors("delete", key):
            self.client.delete_object(Bucket=self.bucket, Key=key)


def _counted(chunks: Iterable[bytes], progress: Callable[[int], None] | None) -> Iterator[bytes]:
    for chunk in chunks:
        if progress is not None:
            progress(len(chunk))
        yield chunk
