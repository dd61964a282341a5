"""Moving planned files into the bucket, writing manifests, and telling what was moved."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from benchlab.download.plan import DownloadPlan, PlannedFile, PlannedQuant
from benchlab.download.prefetch import prefetch
from benchlab.errors import ChecksumError, StoreError
from benchlab.hub import Hub, is_network_error
from benchlab.manifest import Manifest, ManifestFile, write_manifest, write_ref
from benchlab.sources import upload_model
from benchlab.store import ObjectStore

Progress = Callable[[int], None]


class FileResult(BaseModel):
    """What happened to one planned file."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    key: str
    """The object's key in the bucket."""

    size: int
    """Size in bytes."""

    sha256: str
    """sha256 of the stored bytes (also in the object's metadata)."""

    sent: int
    """Bytes transferred by this run; 0 when the object was already there."""


def _counting(progress: Progress | None, sent: list[int]) -> Progress:
    def count(n: int) -> None:
        sent[0] += n
        if progress is not None:
            progress(n)

    return count


def transfer_file(
    store: ObjectStore,
    hub: Hub,
    planned: PlannedFile,
    spec: PlannedQuant,
    progress: Progress | None = None,
    base_dir: Path | None = None,
) -> FileResult:
    """Put one planned file into the bucket, streamed and verified; nothing if it is there.

    Args:
        store: The object store.
        hub: The hub, for files of ``origin`` ``hf``.
        planned: The file.
        spec: The quant it belongs to (its model's ``source``, for ``source`` files).
        progress: Called with the size of each block as it is sent.
        base_dir: What a relative ``file:`` source is relative to.

    Raises:
        ChecksumError: the bytes did not match the published sha256; nothing is stored.
        StoreError, HfHubHTTPError, httpx.TransportError: the bucket or the hub failed.
    """
    sent = [0]
    count = _counting(progress, sent)
    if planned.origin == "source":
        manifest = upload_model(store, spec.spec, spec.quant, base_dir=base_dir, progress=count)
        stored = manifest.files[0]
        return FileResult(key=stored.key, size=stored.size, sha256=stored.sha256, sent=sent[0])
    # Both generators start on first use: a skipped upload opens no connection, no thread.
    chunks: Iterator[bytes] = prefetch(
        hub.stream(planned.repo_id, planned.commit, planned.name, progress=count)
    )
    try:
        info = store.put_stream(
            planned.key, chunks, expected_sha256=planned.sha256, size=planned.size
        )
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()  # ends the HTTP response when the upload stopped early
    if info.sha256 is None:
        raise StoreError(f"{planned.key} was stored without a sha256")
    return FileResult(key=info.key, size=info.size, sha256=info.sha256, sent=sent[0])


def write_quant_manifest(
    store: ObjectStore, quant: PlannedQuant, results: Mapping[str, FileResult]
) -> Manifest:
    """Write the manifest of one model and quant from its files' results (unchanged: kept),
    and the pointer from the model's revision to the commit it resolved to."""
    files = tuple(
        ManifestFile(name=f.name, key=f.key, size=results[f.key].size, sha256=results[f.key].sha256)
        for f in quant.files
    )
    write_ref(store, quant.spec.repo_id, quant.spec.revision, quant.commit)
    return write_manifest(
        store,
        Manifest(
            model=quant.spec.name,
            repo_id=quant.spec.repo_id,
            revision=quant.commit,
            quant=quant.quant,
            source=quant.source,
            files=files,
        ),
    )


def unique_files(plan: DownloadPlan) -> list[tuple[PlannedFile, PlannedQuant]]:
    """Each file of the plan once (quants of a ``source`` model share their file)."""
    seen: dict[str, tuple[PlannedFile, PlannedQuant]] = {}
    for quant in plan.quants:
        for file in quant.files:
            seen.setdefault(file.key, (file, quant))
    return list(seen.values())


def is_retryable(exc: BaseException) -> bool:
    """Whether a failed transfer is worth another try: network and service errors, not checksums."""
    if isinstance(exc, ChecksumError):
        return False
    if isinstance(exc, StoreError | BotoCoreError | ClientError | ConnectionError | TimeoutError):
        return True
    return is_network_error(exc)


def execute_plan(
    plan: DownloadPlan,
    store: ObjectStore,
    hub: Hub,
    *,
    parallel: int = 2,
    progress: Callable[[PlannedFile], Progress | None] | None = None,
) -> tuple[list[FileResult], list[Manifest]]:
    """Run a plan without Prefect: files in parallel, then one manifest per model and quant.

    Returns:
        The file results and the manifests written.
    """
    work = unique_files(plan)

    def one(item: tuple[PlannedFile, PlannedQuant]) -> FileResult:
        file, quant = item
        bar = progress(file) if progress else None
        return transfer_file(store, hub, file, quant, bar, plan.base_dir)

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        results = list(pool.map(one, work))
    return results, manifests_for(store, plan, results)


def manifests_for(
    store: ObjectStore, plan: DownloadPlan, results: Sequence[FileResult]
) -> list[Manifest]:
    """The manifests of every quant of ``plan``, written from ``results``."""
    by_key = {r.key: r for r in results}
    return [write_quant_manifest(store, q, by_key) for q in plan.quants]
