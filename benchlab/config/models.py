"""``models.yaml``: the bucket, the models, and the engine settings they run with."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, StrictStr, Tag, field_validator, model_validator

from benchlab.config.agents import CommandAgent
from benchlab.config.base import Frozen
from benchlab.config.engine import EngineConfig
from benchlab.config.names import git_ref, path_segment
from benchlab.config.schedules import NIGHTLY, ScheduleSpec
from benchlab.config.sweep import EngineSweep, expand

__all__ = ["ApiModel", "EngineConfig", "EngineSweep", "LocalModel", "ModelSpec", "ModelsFile"]

NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
QuantTag = Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
"""A quant tag: it names a folder of the bucket, so it is one plain name."""


class LocalModel(Frozen):
    """A GGUF model from the Hugging Face hub, served by llama.cpp."""

    name: Annotated[str, Field(pattern=NAME)]
    """Short name used in run names, tags and the CLI."""

    provider: Literal["local"] = "local"
    """``local``: GGUF weights served by llama.cpp."""

    repo_id: Annotated[str, Field(pattern=r"^[\w.-]+/[\w.-]+$")]
    """Hugging Face repository, ``owner/name``."""

    revision: str = "main"
    """Branch, tag or commit of the repository."""

    quant_tags: tuple[QuantTag, ...]
    """Quantizations to benchmark, matched as file-name tokens (``Q4_K_M``)."""

    source: str | None = None
    """Where the GGUF comes from instead of the hub: ``file:PATH`` or ``package:NAME``."""

    chat_template: str | None = None
    """A llama.cpp built-in chat template name (``--chat-template``)."""

    chat_template_file: str | None = None
    """A Jinja chat template file (``--chat-template-file``), relative to models.yaml."""

    context_size: int = Field(default=8192, ge=256)
    """Context size to run the model with."""

    engine: EngineSweep | None = None
    """Engine settings for this model, each replacing the top-level ``engine``'s; a list
    of values sweeps over them."""

    @model_validator(mode="after")
    def _one_template(self) -> LocalModel:
        if self.chat_template and self.chat_template_file:
            raise ValueError("give chat_template or chat_template_file, not both")
        return self

    @field_validator("repo_id")
    @classmethod
    def _plain_repo_id(cls, repo_id: str) -> str:
        # Bucket keys and cache paths are built from it: ``..`` would leave their prefix.
        for part in repo_id.split("/"):
            path_segment(part, "repo_id part")
        return repo_id

    @field_validator("revision")
    @classmethod
    def _revision_name(cls, revision: str) -> str:
        return git_ref(revision, "revision")

    @field_validator("quant_tags")
    @classmethod
    def _plain_tags(cls, tags: tuple[str, ...]) -> tuple[str, ...]:
        # Checked here, not with min_length: one bad tag must not also read as "no tags".
        if not tags:
            raise ValueError("give at least one quant tag")
        for tag in tags:
            path_segment(tag, "quant tag")
        return tags

    @field_validator("source")
    @classmethod
    def _source_scheme(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(file|package):.+", value):
            raise ValueError("expected 'file:PATH' or 'package:NAME'")
        return value


class ApiModel(Frozen):
    """A model behind an OpenAI-compatible API, benchmarked for comparison."""

    name: Annotated[str, Field(pattern=NAME)]
    """Short name used in run names, tags and the CLI."""

    provider: Annotated[str, Field(pattern=NAME)]
    """The provider's name (``openai``, ``openrouter``, ...); anything but ``local``."""

    base_url: Annotated[str, Field(pattern=r"^https?://")]
    """The provider's OpenAI-compatible base URL."""

    model: str | None = None
    """The model id the provider expects; default ``name``."""

    api_key_env: Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")]
    """Name of the environment variable that holds the API key (never the key)."""

    context_size: int = Field(default=128000, ge=256)
    """Context window of the model."""

    input_price_per_mtok: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    """Price in USD per million input tokens."""

    output_price_per_mtok: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    """Price in USD per million output tokens."""


def _provider_tag(value: Any) -> str:
    provider = value.get("provider", "local") if isinstance(value, dict) else "local"
    return "local" if provider == "local" else "api"


ModelSpec = Annotated[
    Annotated[LocalModel, Tag("local")] | Annotated[ApiModel, Tag("api")],
    Discriminator(_provider_tag),
]


class CostSettings(Frozen):
    """What running local models costs, for the report's cost columns."""

    host_price_per_hour: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    """Price in USD of one hour of an engine host, charged to local models' trials."""


class ModelsFile(Frozen):
    """The whole ``models.yaml``."""

    bucket: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")] = "benchlab"
    """The S3 bucket that holds model files and manifests."""

    engine: EngineSweep = EngineSweep()
    """Default engine settings for local models; a list of values sweeps over them."""

    models: tuple[ModelSpec, ...] = ()
    """The models to benchmark."""

    agents: tuple[CommandAgent, ...] = ()
    """Command agents: agent CLIs run from a template, by name (``--agent NAME``)."""

    cost: CostSettings = CostSettings()
    """Prices for the report's cost of local models (API models carry their own)."""

    schedules: tuple[ScheduleSpec, ...] = NIGHTLY
    """Pipeline runs on cron schedules, registered by ``benchlab serve``; default the
    default sweep nightly at 02:00 local time; ``[]`` for none."""

    @model_validator(mode="after")
    def _unique_names(self) -> ModelsFile:
        seen: set[str] = set()
        for model in self.models:
            if model.name in seen:
                raise ValueError(f"model name {model.name!r} is used twice")
            seen.add(model.name)
        return self

    @model_validator(mode="after")
    def _every_model_has_a_cell(self) -> ModelsFile:
        for model in self.models:
            if isinstance(model, LocalModel) and not self.engines_for(model):
                raise ValueError(f"model {model.name!r}: exclude removes every combination")
        return self

    def get(self, name: str) -> LocalModel | ApiModel:
        """The model called ``name``; an unknown name lists the valid ones."""
        from benchlab.errors import unknown_name

        for model in self.models:
            if model.name == name:
                return model
        raise unknown_name("model", name, [m.name for m in self.models])

    def engines_for(self, model: LocalModel) -> list[EngineConfig]:
        """Every engine configuration of ``model``'s sweep, in a stable order."""
        return expand(self.engine, model.engine)

    def engine_for(self, model: LocalModel) -> EngineConfig:
        """The first engine configuration of ``model``'s sweep (the only one without lists)."""
        return self.engines_for(model)[0]
