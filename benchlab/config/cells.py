"""Cells: one model, one quantization, one engine configuration, with a stable id."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from benchlab.config.base import Frozen
from benchlab.config.engine import EngineConfig
from benchlab.config.models import LocalModel, ModelsFile

ID_LENGTH = 12
"""Hex digits of a cell id: 48 bits, so collisions among thousands of cells are unlikely."""


class Cell(Frozen):
    """One server configuration of the sweep: a model at a quantization under an engine."""

    model: LocalModel
    """The model, as ``models.yaml`` gives it (its own ``engine`` section aside)."""

    quant: str
    """The quantization tag."""

    engine: EngineConfig
    """The full engine configuration, with ``ctx_size`` and ``image`` resolved."""

    def canonical(self) -> dict[str, Any]:
        """Everything that defines the cell, as plain JSON data."""
        return {
            "model": self.model.model_dump(mode="json", exclude={"engine"}),
            "quant": self.quant,
            "engine": self.engine.model_dump(mode="json"),
        }

    @property
    def id(self) -> str:
        """A short hash of :meth:`canonical`: equal configs give equal ids on any machine,
        any change gives another id, and growing a sweep leaves existing ids alone."""
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:ID_LENGTH]

    @property
    def name(self) -> str:
        """``model/quant/id``, for run names and logs."""
        return f"{self.model.name}/{self.quant}/{self.id}"


def model_cells(models: ModelsFile, model: LocalModel) -> list[Cell]:
    """The cells of one local model: its quantizations times its engine sweep."""
    cells = []
    for quant in model.quant_tags:
        for engine in models.engines_for(model):
            # The model's context size is the default; naming it makes the id exact.
            resolved = engine.model_copy(update={"ctx_size": engine.ctx_size or model.context_size})
            cells.append(Cell(model=model, quant=quant, engine=resolved))
    return cells


def sweep_cells(models: ModelsFile, names: Iterable[str] | None = None) -> list[Cell]:
    """The cells of every local model in ``models.yaml``, or of the models ``names``.

    Raises:
        UsageError: When a name is unknown.
    """
    chosen = [models.get(name) for name in names] if names is not None else list(models.models)
    cells: list[Cell] = []
    for model in chosen:
        if isinstance(model, LocalModel):
            cells += model_cells(models, model)
    return cells
