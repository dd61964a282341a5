"""A local cache of model files from the object store, verified, evicted least recently used.

Each file ``<root>/<key>`` has a sidecar ``<file>.cache.json`` with its sha256, size,
mtime and last use. A file whose size or mtime no longer match its sidecar is hashed
again, and fetched again if it changed. Work on one key holds an exclusive ``fcntl`` lock
on a lock file for that key, so processes and threads sharing the cache do not download
the same file twice or evict a file another one is fetching.

A file is only ever put in place whole and verified (the store writes a temporary file
and renames it); a fetch that the store's failure cuts short is tried again with backoff,
and the temporary files of a fetch whose process died are removed by the next fetch.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, ValidationError

from benchlab.config.models import LocalModel
from benchlab.errors import StoreError
from benchlab.manifest import Manifest, find_manifest
from benchlab.store import ObjectStore, StoreUnavailable
from benchlab.transfer import sha256_file

SIDECAR_SUFFIX = ".cache.json"

log = logging.getLogger(__name__)


class CacheEntry(BaseModel):
    """What the sidecar of a cached file records."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    key: str
    """The object's key in the bucket."""

    sha256: str
    """sha256 of the file when it was verified."""

    size: int
    """Size in bytes when it was verified."""

    mtime_ns: int
    """Modification time when it was verified."""

    last_used: float
    """When the file was last returned by :meth:`ModelCache.fetch` (epoch seconds)."""


class ModelCache:
    """Model files fetched from an object store into ``root``, at most ``max_bytes`` in all.

    Args:
        root: The cache directory.
        store: Where files come from.
        max_bytes: Size of the cache before least recently used files are evicted.
        attempts: Tries of one file's download when the store fails during it.
        backoff_s: Wait before the second try, doubled before each later one.
    """

    def __init__(
        self,
        root: Path,
        store: ObjectStore,
        max_bytes: int,
        *,
        attempts: int = 5,
        backoff_s: float = 1.0,
    ) -> None:
        self.root = root
        self.store = store
        self.max_bytes = max_bytes
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s

    def fetch(self, manifest: Manifest) -> Path:
        """Fetch every file of ``manifest``; returns the first (the one to load).

        The files stay next to each other, so a split GGUF finds its other parts.
        """
        paths = [self.fetch_file(f.key, f.sha256, evict=False) for f in manifest.files]
        self.evict(keep=set(paths))
        return paths[0]

    def fetch_model(self, model: LocalModel, quant: str) -> Path:
        """The verified local GGUF of ``model`` at ``quant``, from its manifest in the bucket.

        Raises:
            StoreError: the model at that quant was never downloaded into the bucket.
        """
        manifest = find_manifest(self.store, model.repo_id, model.revision, quant)
        if manifest is None:
            raise StoreError(
                f"model {model.name} ({quant}) is not in s3://{self.store.bucket}; "
                f"run: benchlab download --model {model.name}"
            )
        return self.fetch(manifest)

    def fetch_file(
        self,
        key: str,
        sha256: str,
        *,
        evict: bool = True,
        progress: Callable[[int], None] | None = None,
    ) -> Path:
        """The verified local copy of ``key``, downloaded unless a good copy is cached.

        Args:
            key: The object's key.
            sha256: What the file must hash to.
            evict: Evict least recently used files afterwards.
            progress: Called with the size of each block downloaded.

        Raises:
            ChecksumError: the downloaded bytes did not match ``sha256``.
            StoreError: the object is missing, or the store still failed after
                ``attempts`` tries.
        """
        path = self.path_for(key)
        with self._locked(key):
            if not self._valid(path, sha256):
                self._download(key, path, sha256, progress)
            self._write_entry(path, key, sha256)
        if evict:
            self.evict(keep={path})
        return path

    def _download(
        self, key: str, path: Path, sha256: str, progress: Callable[[int], None] | None
    ) -> None:
        """Download ``key`` to ``path``, again with backoff while the store is unavailable."""
        # The key's lock is held: a temporary file of this name is left by a dead fetch.
        for stale in path.parent.glob(f".{path.name}.*.part"):
            stale.unlink(missing_ok=True)
        for attempt in range(1, self.attempts + 1):
            try:
                self.store.get_to_file(key, path, expected_sha256=sha256, progress=progress)
                return
            except StoreUnavailable as exc:
                if attempt == self.attempts:
                    raise
                wait = self.backoff_s * 2 ** (attempt - 1)
                log.warning("fetching %s failed (%s); trying again in %.0fs", key, exc, wait)
                time.sleep(wait)

    def path_for(self, key: str) -> Path:
        """Where ``key`` is cached."""
        parts = PurePosixPath(key).parts
        if not parts or any(p in ("..", ".", "/") for p in parts):
            raise StoreError(f"refusing to cache key {key!r}: not a plain relative path")
        return self.root.joinpath(*parts)

    def entries(self) -> list[tuple[Path, CacheEntry]]:
        """The cached files and their sidecars, least recently used first."""
        found: list[tuple[Path, CacheEntry]] = []
        for sidecar in self.root.rglob(f"*{SIDECAR_SUFFIX}"):
            entry = _read_entry(sidecar)
            if entry is not None:
                found.append((sidecar.with_name(sidecar.name[: -len(SIDECAR_SUFFIX)]), entry))
        return sorted(found, key=lambda item: item[1].last_used)

    def evict(self, keep: set[Path]) -> list[Path]:
        """Delete least recently used files until the cache fits in ``max_bytes``.

        Files in ``keep`` and files another process is working on stay.

        Returns:
            The files deleted.
        """
        entries = self.entries()
        total = sum(entry.size for _, entry in entries)
        removed: list[Path] = []
        for path, entry in entries:
            if total <= self.max_bytes:
                break
            if path in keep:
                continue
            with self._locked(entry.key, blocking=False) as got:
                now = _read_entry(_sidecar(path))
                # Another process may have used the file since the listing.
                if not got or now is None or now.last_used != entry.last_used:
                    continue
                path.unlink(missing_ok=True)
                _sidecar(path).unlink(missing_ok=True)
            total -= entry.size
            removed.append(path)
        return removed

    def _valid(self, path: Path, sha256: str) -> bool:
        """Whether ``path`` holds bytes with ``sha256``, hashing only when the file changed."""
        try:
            stat = path.stat()
        except FileNotFoundError:
            return False
        entry = _read_entry(_sidecar(path))
        recorded = (sha256, stat.st_size, stat.st_mtime_ns)
        if entry is not None and (entry.sha256, entry.size, entry.mtime_ns) == recorded:
            return True
        return sha256_file(path) == sha256

    def _write_entry(self, path: Path, key: str, sha256: str) -> None:
        stat = path.stat()
        entry = CacheEntry(
            key=key,
            sha256=sha256,
            size=stat.st_size,
            mtime_ns=stat.st_mtime_ns,
            last_used=time.time(),
        )
        sidecar = _sidecar(path)
        tmp = sidecar.with_name(f".{sidecar.name}.tmp")
        tmp.write_text(entry.model_dump_json())
        os.replace(tmp, sidecar)

    @contextlib.contextmanager
    def _locked(self, key: str, *, blocking: bool = True) -> Iterator[bool]:
        """Hold the lock of ``key``; yields False when ``blocking`` is off and it is taken."""
        locks = self.root / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(key.encode()).hexdigest()[:32]
        with (locks / f"{name}.lock").open("a") as handle:
            flags = fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB
            try:
                fcntl.flock(handle.fileno(), flags)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _read_entry(sidecar: Path) -> CacheEntry | None:
    try:
        return CacheEntry.model_validate_json(sidecar.read_text())
    except (OSError, ValidationError, json.JSONDecodeError):
        return None
