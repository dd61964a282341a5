"""The steps of ``flows/download.py``, as plain functions usable without Prefect."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchlab.config import ApiModel, LocalModel, load_models
from benchlab.download.execute import FileResult, manifests_for, transfer_file
from benchlab.download.plan import (
    DownloadPlan,
    PlannedFile,
    PlannedQuant,
    plan_download,
    resolve_hub_model,
)
from benchlab.download.plan import select_models as _select_models
from benchlab.download.report import DownloadReport, TransferBars, run_report
from benchlab.hub import Hub
from benchlab.manifest import manifest_key
from benchlab.services.s3 import S3Endpoint, s3_endpoint
from benchlab.settings import Settings
from benchlab.sources import resolve_source
from benchlab.store import ObjectStore


@dataclass(frozen=True)
class Selection:
    """The validated configuration and the models a run covers."""

    bucket: str
    base_dir: Path
    local: tuple[LocalModel, ...]
    api: tuple[ApiModel, ...]


def select_models(
    settings: Settings, names: Sequence[str] = (), provider: str | None = None
) -> Selection:
    """Validate ``models.yaml`` and pick the models; every mistake is raised before any work.

    Raises:
        ConfigError: ``models.yaml`` is invalid.
        UsageError: an unknown model name or provider.
    """
    models = load_models(settings.models_file)
    local, api = _select_models(models, names, provider)
    return Selection(
        bucket=settings.s3_bucket or models.bucket,
        base_dir=settings.models_file.resolve().parent,
        local=tuple(local),
        api=tuple(api),
    )


def check(settings: Settings, names: Sequence[str] = (), provider: str | None = None) -> Selection:
    """Everything that can be wrong before any work: config, names, repositories, quants.

    Asks the hub for each model's file list (no bytes), so that an unknown repository,
    revision or quant tag is one line before the flow starts.

    Raises:
        ConfigError, UsageError: as :func:`select_models`, and HubError, QuantError,
            SourceError for what the hub or a source says.
    """
    selection = select_models(settings, names, provider)
    hub = hub_for(settings)
    for model in selection.local:
        if model.source is not None:
            resolve_source(model.source, selection.base_dir)
        else:
            resolve_hub_model(hub, model)
    return selection


@contextlib.contextmanager
def object_store_endpoint(settings: Settings) -> Iterator[S3Endpoint]:
    """The configured S3 endpoint, or a local S3 server running until the block ends."""
    with s3_endpoint(
        url=settings.s3_endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        region=settings.s3_region,
        data_dir=settings.state_dir / "s3",
    ) as endpoint:
        yield endpoint


def hub_for(settings: Settings) -> Hub:
    """The hub the settings name, with their token."""
    return Hub(settings.hf_endpoint, settings.hf_token)


def store_for(endpoint: S3Endpoint, bucket: str) -> ObjectStore:
    """A client for the bucket, created if missing."""
    store = ObjectStore(endpoint, bucket)
    store.ensure_bucket()
    return store


def make_plan(settings: Settings, selection: Selection, endpoint: S3Endpoint) -> DownloadPlan:
    """Resolve revisions, list and select files, and check what the bucket has already."""
    return plan_download(
        store_for(endpoint, selection.bucket),
        hub_for(settings),
        selection.local,
        selection.api,
        selection.base_dir,
    )


def transfer(
    settings: Settings,
    endpoint: S3Endpoint,
    plan: DownloadPlan,
    item: tuple[PlannedFile, PlannedQuant],
    bars: TransferBars | None = None,
) -> FileResult:
    """Move one file into the bucket with fresh clients (a retry starts clean)."""
    file, quant = item
    bar = bars.bar(file) if bars is not None else None
    return transfer_file(
        store_for(endpoint, plan.bucket), hub_for(settings), file, quant, bar, plan.base_dir
    )


def finish(
    endpoint: S3Endpoint, plan: DownloadPlan, results: Sequence[FileResult]
) -> DownloadReport:
    """Write one manifest per model and quant and report what was moved and skipped."""
    manifests = manifests_for(store_for(endpoint, plan.bucket), plan, results)
    keys = [manifest_key(m.repo_id, m.revision, m.quant) for m in manifests]
    return run_report(plan, results, keys)


def with_config(settings: Settings, config: Path | None) -> Settings:
    """The settings, with ``models_file`` replaced when ``config`` is given."""
    return settings if config is None else settings.model_copy(update={"models_file": config})
