"""Where model files live in the bucket, and the manifest that lists them per model and quant.

Layout: ``models/<repo_id>/<revision>/<file>`` for each file, and
``models/<repo_id>/<revision>/<quant>/manifest.json`` for each quantization.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from benchlab.errors import StoreError
from benchlab.store import ObjectStore

MANIFEST_NAME = "manifest.json"


class ManifestFile(BaseModel):
    """One file of a model in the bucket."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    name: str
    """The file's name (split GGUFs keep their ``-0000i-of-0000N`` names)."""

    key: str
    """The object's key in the bucket."""

    size: int
    """Size in bytes."""

    sha256: str
    """sha256 of the bytes."""


class Manifest(BaseModel):
    """The files of one model at one quantization, as stored in the bucket."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    model: str
    """The model's name in ``models.yaml``."""

    repo_id: str
    """The Hugging Face repository the model belongs to."""

    revision: str
    """The revision the files were taken from."""

    quant: str
    """The quantization tag."""

    source: str
    """Where the files came from: ``hf`` or the model's ``source`` string."""

    files: tuple[ManifestFile, ...] = Field(min_length=1)
    """The files, in order; for a split GGUF the first is the one to load."""

    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    """When the manifest was written."""

    @property
    def total_size(self) -> int:
        """Bytes of all files together."""
        return sum(f.size for f in self.files)

    def same_files(self, other: Manifest) -> bool:
        """Whether ``other`` describes the same bytes for the same model and quant."""
        fields = ("model", "repo_id", "revision", "quant", "source", "files")
        return all(getattr(self, f) == getattr(other, f) for f in fields)


def model_key(repo_id: str, revision: str, file_name: str) -> str:
    """The bucket key of a model file."""
    return f"models/{repo_id}/{revision}/{file_name}"


def manifest_key(repo_id: str, revision: str, quant: str) -> str:
    """The bucket key of the manifest of one model and quantization."""
    return f"models/{repo_id}/{revision}/{quant}/{MANIFEST_NAME}"


def ref_key(repo_id: str, revision: str) -> str:
    """The bucket key of the pointer from a branch or tag to the commit downloaded for it."""
    return f"models/{repo_id}/refs/{revision}.json"


def write_ref(store: ObjectStore, repo_id: str, revision: str, commit: str) -> None:
    """Record that ``revision`` of ``repo_id`` resolved to ``commit`` when it was downloaded."""
    if revision != commit and store.get_json(ref_key(repo_id, revision)) != {"commit": commit}:
        store.put_json(ref_key(repo_id, revision), {"commit": commit})


def find_manifest(store: ObjectStore, repo_id: str, revision: str, quant: str) -> Manifest | None:
    """The manifest for a revision as ``models.yaml`` names it (a branch, tag or commit).

    A branch or tag is followed through the pointer the download stage wrote, so the
    simulate stage runs exactly the bytes that were downloaded, without asking the hub.
    """
    pointer = store.get_json(ref_key(repo_id, revision))
    if isinstance(pointer, dict) and isinstance(pointer.get("commit"), str):
        found = read_manifest(store, repo_id, pointer["commit"], quant)
        if found is not None:
            return found
    return read_manifest(store, repo_id, revision, quant)


def read_manifest(store: ObjectStore, repo_id: str, revision: str, quant: str) -> Manifest | None:
    """The stored manifest of a model and quantization, or None if there is none.

    Raises:
        StoreError: the stored document is not a valid manifest.
    """
    key = manifest_key(repo_id, revision, quant)
    data = store.get_json(key)
    if data is None:
        return None
    try:
        return Manifest.model_validate(data)
    except ValueError as exc:
        raise StoreError(f"s3://{store.bucket}/{key} is not a valid manifest: {exc}") from None


def write_manifest(store: ObjectStore, manifest: Manifest) -> Manifest:
    """Store ``manifest`` unless an equal one is there already; returns the stored one."""
    current = read_manifest(store, manifest.repo_id, manifest.revision, manifest.quant)
    if current is not None and current.same_files(manifest):
        return current
    store.put_json(
        manifest_key(manifest.repo_id, manifest.revision, manifest.quant),
        manifest.model_dump(mode="json"),
    )
    return manifest
