"""The download plan: for each model and quant, its files, sizes, sha256, keys, and what to skip.

Planning reads only metadata (the hub's file list, the bucket's object heads), so a dry
run shows exactly what a real run would move.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from benchlab.config.models import ApiModel, LocalModel, ModelsFile
from benchlab.errors import UsageError
from benchlab.hub import Hub, HubError, HubFile
from benchlab.manifest import model_key
from benchlab.quants import is_plain_path, select
from benchlab.sources import resolve_source
from benchlab.store import ObjectStore


class PlannedFile(BaseModel):
    """One file to put into the bucket, or to leave because it is there already."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    model: str
    """The model's name in ``models.yaml``."""

    quant: str
    """The quant tag the file belongs to."""

    name: str
    """Path of the file in the repository (or the source's file name)."""

    key: str
    """Where the file goes in the bucket."""

    size: int
    """Size in bytes."""

    sha256: str | None
    """The sha256 the bytes must have; None for a local file not hashed yet."""

    origin: Literal["hf", "source"]
    """``hf``: streamed from the hub; ``source``: from the model's ``source``."""

    repo_id: str
    """The repository, ``owner/name``."""

    commit: str
    """The commit the file is taken from (for a ``source``, the model's ``revision``)."""

    skip: bool
    """True when an object with this sha256 and size is already at ``key``."""


class PlannedQuant(BaseModel):
    """The files of one model at one quantization, and where its manifest goes."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    spec: LocalModel
    """The model as configured."""

    quant: str
    """The quant tag."""

    commit: str
    """The commit sha the files come from (the ``revision`` for a ``source``)."""

    source: str
    """``hf`` or the model's ``source`` string."""

    files: tuple[PlannedFile, ...]
    """The files, in order; for a split GGUF the first is the one to load."""


class DownloadPlan(BaseModel):
    """Everything a download run moves or skips."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    bucket: str
    """The bucket the files go to."""

    base_dir: Path
    """What relative ``file:`` sources are relative to (the directory of ``models.yaml``)."""

    quants: tuple[PlannedQuant, ...]
    """One entry per local model and quant tag."""

    api_models: tuple[str, ...] = ()
    """Selected API models: they have nothing to download."""

    @property
    def files(self) -> list[PlannedFile]:
        """Every planned file, in plan order."""
        return [f for q in self.quants for f in q.files]

    @property
    def bytes_to_send(self) -> int:
        """Bytes a run would transfer."""
        return sum(f.size for f in self.files if not f.skip)

    @property
    def bytes_to_skip(self) -> int:
        """Bytes already in the bucket."""
        return sum(f.size for f in self.files if f.skip)


def select_models(
    models: ModelsFile, names: Sequence[str] = (), provider: str | None = None
) -> tuple[list[LocalModel], list[ApiModel]]:
    """The models a run covers: those named (all when none are), of ``provider`` if given.

    Raises:
        UsageError: an unknown name, or no model of ``provider`` among them.
    """
    chosen = [models.get(n) for n in dict.fromkeys(names)] if names else list(models.models)
    if provider is not None:
        picked = [m for m in chosen if m.provider == provider]
        if not picked:
            have = sorted({m.provider for m in chosen})
            raise UsageError(f"no model of provider {provider!r}; providers: {', '.join(have)}")
        chosen = picked
    local = [m for m in chosen if isinstance(m, LocalModel)]
    api = [m for m in chosen if isinstance(m, ApiModel)]
    return local, api


def _planned(store: ObjectStore, **fields: object) -> PlannedFile:
    found = store.head(str(fields["key"]))
    skip = bool(
        found is not None
        and fields["sha256"] is not None
        and found.sha256 == fields["sha256"]
        and found.size == fields["size"]
    )
    return PlannedFile.model_validate({**fields, "skip": skip})


def resolve_hub_model(hub: Hub, model: LocalModel) -> tuple[str, dict[str, list[HubFile]]]:
    """The commit ``model.revision`` points at, and the files of each of its quant tags.

    Raises:
        HubError: unknown repository or revision, or a commit that is not a plain name.
        QuantError: a tag matches no GGUF file, or a file name is not a plain path.
    """
    snap = hub.snapshot(model.repo_id, model.revision)
    # The commit names a folder of the bucket: it must be one plain name.
    if "/" in snap.commit or not is_plain_path(snap.commit):
        raise HubError(f"{model.repo_id}@{model.revision}: the hub answered an unsafe commit "
                       f"{snap.commit!r}")  # fmt: skip
    return snap.commit, {tag: select(snap.files, tag) for tag in model.quant_tags}


def plan_hub_model(store: ObjectStore, hub: Hub, model: LocalModel) -> list[PlannedQuant]:
    """One entry per quant tag of a hub model, its commit resolved and its files listed.

    Raises:
        HubError: unknown repository or revision.
        QuantError: a tag matches no GGUF file.
    """
    commit, by_tag = resolve_hub_model(hub, model)
    quants = []
    for tag, hub_files in by_tag.items():
        files = tuple(
            _planned(
                store, model=model.name, quant=tag, name=f.name, size=f.size, sha256=f.sha256,
                key=model_key(model.repo_id, commit, f.name), origin="hf",
                repo_id=model.repo_id, commit=commit,
            )
            for f in hub_files
        )  # fmt: skip
        quants.append(PlannedQuant(spec=model, quant=tag, commit=commit, source="hf", files=files))
    return quants


def plan_source_model(store: ObjectStore, model: LocalModel, base_dir: Path) -> list[PlannedQuant]:
    """One entry per quant tag of a model whose file comes from its ``source``."""
    assert model.source is not None
    src = resolve_source(model.source, base_dir)
    key = model_key(model.repo_id, model.revision, src.name)
    sha = src.sha256
    found = store.head(key)
    if sha is None and found is not None and found.size == src.size:
        # As upload_model does: hashing the local file is cheap next to sending it.
        sha = src.compute_sha256()
    planned = _planned(
        store,
        model=model.name,
        quant=model.quant_tags[0],
        name=src.name,
        size=src.size,
        sha256=sha,
        key=key,
        origin="source",
        repo_id=model.repo_id,
        commit=model.revision,
    )
    return [
        PlannedQuant(
            spec=model,
            quant=tag,
            commit=model.revision,
            source=model.source,
            files=(planned.model_copy(update={"quant": tag}),),
        )
        for tag in model.quant_tags
    ]


def plan_download(
    store: ObjectStore,
    hub: Hub,
    local: Sequence[LocalModel],
    api: Sequence[ApiModel] = (),
    base_dir: Path = Path(),
) -> DownloadPlan:
    """The plan for ``local`` models; ``api`` models are listed as skipped."""
    quants: list[PlannedQuant] = []
    for model in local:
        if model.source is not None:
            quants += plan_source_model(store, model, base_dir)
        else:
            quants += plan_hub_model(store, hub, model)
    return DownloadPlan(
        bucket=store.bucket,
        base_dir=base_dir,
        quants=tuple(quants),
        api_models=tuple(m.name for m in api),
    )
