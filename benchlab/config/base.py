"""The base of every configuration model: frozen, unknown keys forbidden."""

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """An immutable configuration object that refuses unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)
