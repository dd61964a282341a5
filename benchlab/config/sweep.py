"""Engine sweeps: any engine setting may list several values; their product gives configs.

A section of ``models.yaml`` like::

    engine:
      batch_size: [512, 2048]
      cache_type_k: [f16, q8_0]
      exclude:
        - {batch_size: 512, cache_type_k: q8_0}

gives three :class:`EngineConfig` values. ``extra_args`` is itself a list, so it is
swept only when given as a list of lists.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any, TypeVar

from pydantic import Discriminator, Field, Tag

from benchlab.config.base import Frozen
from benchlab.config.engine import (
    Args,
    Backend,
    CtxSize,
    EngineConfig,
    FlashAttn,
    NonNegativeInt,
    PositiveInt,
)

ONE = "one-value"
MANY = "value-list"
SWEEP_TAGS = frozenset({ONE, MANY})
"""Union tags pydantic puts in error locations; they are not keys of the file."""

MAX_COMBINATIONS = 10_000
"""A sweep larger than this is refused: it is almost surely a mistake."""

ENGINE_FIELDS = tuple(EngineConfig.model_fields)

T = TypeVar("T")


def _shape(value: Any) -> str:
    return MANY if isinstance(value, list | tuple) else ONE


def _args_shape(value: Any) -> str:
    many = isinstance(value, list | tuple) and bool(value)
    return MANY if many and all(isinstance(item, list | tuple) for item in value) else ONE


Axis = Annotated[
    Annotated[T, Tag(ONE)] | Annotated[tuple[T, ...], Field(min_length=1), Tag(MANY)],
    Discriminator(_shape),
]
"""One value, or a non-empty list of values to sweep over."""

ArgsAxis = Annotated[
    Annotated[Args, Tag(ONE)] | Annotated[tuple[Args, ...], Field(min_length=1), Tag(MANY)],
    Discriminator(_args_shape),
]
"""One argument list, or a list of argument lists to sweep over."""


class EngineAxes(Frozen):
    """Values for some engine settings, each one value or a list of values."""

    backend: Axis[Backend] | None = None
    """Which llama.cpp build to use."""

    image: Axis[str] | None = None
    """Container image; default the backend's pinned official image."""

    ctx_size: Axis[CtxSize] | None = None
    """Context size in tokens, shared by all slots; default the model's ``context_size``."""

    parallel: Axis[PositiveInt] | None = None
    """Number of server slots."""

    threads: Axis[PositiveInt] | None = None
    """Threads for generation."""

    threads_batch: Axis[PositiveInt] | None = None
    """Threads for prompt processing."""

    batch_size: Axis[PositiveInt] | None = None
    """Logical batch size (-b)."""

    ubatch_size: Axis[PositiveInt] | None = None
    """Physical batch size (-ub)."""

    n_gpu_layers: Axis[NonNegativeInt] | None = None
    """Layers offloaded to the GPU (-ngl)."""

    flash_attn: Axis[FlashAttn] | None = None
    """Flash attention."""

    cache_type_k: Axis[str] | None = None
    """KV cache type for K."""

    cache_type_v: Axis[str] | None = None
    """KV cache type for V."""

    extra_args: ArgsAxis | None = None
    """Further llama-server arguments; a list of lists sweeps over argument sets."""

    def axes(self) -> dict[str, tuple[Any, ...]]:
        """The settings given here, each as the tuple of its values, in field order."""
        axes: dict[str, tuple[Any, ...]] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None or name not in ENGINE_FIELDS:
                continue
            if name == "extra_args":
                axes[name] = value if _args_shape(value) == MANY else (value,)
            else:
                axes[name] = value if isinstance(value, tuple) else (value,)
        return axes


class EngineSweep(EngineAxes):
    """An ``engine`` section: settings to sweep over, and combinations to leave out."""

    exclude: tuple[EngineAxes, ...] = ()
    """Combinations to leave out: a combination is removed when, for every setting an
    entry names, its value is the entry's value (or one of the entry's listed values)."""


def _matches(config: EngineConfig, exclude: dict[str, tuple[Any, ...]]) -> bool:
    return all(getattr(config, name) in values for name, values in exclude.items())


def expand(*sections: EngineSweep | None) -> list[EngineConfig]:
    """The engine configs of the cartesian product of ``sections``, in a stable order.

    Args:
        sections: ``engine`` sections from general to specific (the top-level one, then
            a model's); a later section's setting replaces an earlier one's, and the
            ``exclude`` entries of every section apply.

    Returns:
        One :class:`EngineConfig` per remaining combination; settings no section gives
        keep their defaults.

    Raises:
        ValueError: When the product has more than ``MAX_COMBINATIONS`` combinations.
    """
    axes: dict[str, tuple[Any, ...]] = {}
    excludes: list[dict[str, tuple[Any, ...]]] = []
    for section in sections:
        if section is not None:
            axes.update(section.axes())
            excludes += [entry.axes() for entry in section.exclude]
    names = [name for name in ENGINE_FIELDS if name in axes]
    size = 1
    for name in names:
        size *= len(axes[name])
    if size > MAX_COMBINATIONS:
        raise ValueError(f"the sweep has {size} combinations; at most {MAX_COMBINATIONS}")
    configs = []
    for combination in itertools.product(*(axes[name] for name in names)):
        config = EngineConfig.model_validate(dict(zip(names, combination, strict=True)))
        if not any(_matches(config, entry) for entry in excludes if entry):
            configs.append(config)
    return configs
