"""Every local model of the sweep, verified into the local cache from the bucket."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from benchlab.cache import ModelCache
from benchlab.config.models import LocalModel
from benchlab.download.steps import object_store_endpoint, store_for
from benchlab.errors import BenchlabError
from benchlab.settings import Settings
from benchlab.simulate.plan import SimulationPlan, TrialKey
from benchlab.sources import upload_model


@dataclass(frozen=True)
class StagedModels:
    """Local model files by ``(model, quant)``, and why the others are missing."""

    files: dict[tuple[str, str], Path] = field(default_factory=dict)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)


def stage_models(
    settings: Settings, plan: SimulationPlan, pending: dict[str, list[TrialKey]]
) -> StagedModels:
    """Fetch each local model at each quant with trials ``pending``, once, verified.

    A model with a ``source`` is put into the bucket first; a hub model must have been
    downloaded (``benchlab download``). A model that cannot be staged is reported, not
    raised: its trials are recorded as errors and the others run.
    """
    wanted = {
        (t.model.name, t.quant): t.model
        for t in plan.targets
        if isinstance(t.model, LocalModel) and pending.get(t.id)
    }
    staged = StagedModels()
    if not wanted:
        return staged
    with object_store_endpoint(settings) as endpoint:
        store = store_for(endpoint, settings.s3_bucket or plan.models.bucket)
        cache = ModelCache(
            settings.state_dir / "cache" / "models", store, int(settings.cache_max_gb * 2**30)
        )
        for (name, quant), model in wanted.items():
            try:
                if model.source:
                    manifest = upload_model(store, model, quant, base_dir=plan.models_dir)
                    staged.files[name, quant] = cache.fetch(manifest)
                else:
                    staged.files[name, quant] = cache.fetch_model(model, quant)
            except BenchlabError as exc:
                staged.failures[name, quant] = str(exc).splitlines()[0]
    return staged
