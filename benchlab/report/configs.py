"""Configurations: what a leaderboard row stands for, and how the CLI names one.

A configuration is a model at a quantization under one engine cell, driven by one
agent harness. Its name is ``model[:quant][@cell][+harness]``, e.g.
``qwen3-8b:Q4_K_M@3f2a9c1b7d04+pi``; parts left out match any value, and a cell may be
given by a prefix of its id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from benchlab.errors import UsageError, unknown_name

CONFIG_KEYS = ("model", "quant", "cell", "harness")
"""The trial columns that together identify a configuration."""

SYNTAX = "model[:quant][@cell][+harness]"
"""How a configuration is named on the command line."""

_PATTERN = re.compile(
    r"^(?P<model>[^:@+]+)(?::(?P<quant>[^:@+]+))?(?:@(?P<cell>[^:@+]+))?(?:\+(?P<harness>[^:@+]+))?$"
)


@dataclass(frozen=True, order=True)
class Config:
    """One configuration; empty parts are absent (an API model has no quant or cell)."""

    model: str
    quant: str = ""
    cell: str = ""
    harness: str = ""

    @property
    def label(self) -> str:
        """The configuration's name, ``model:quant@cell+harness`` without the empty parts."""
        text = self.model
        text += f":{self.quant}" if self.quant else ""
        text += f"@{self.cell}" if self.cell else ""
        return text + (f"+{self.harness}" if self.harness else "")


def config_label(model: str, quant: str, cell: str, harness: str) -> str:
    """The name of the configuration with these parts."""
    return Config(model, quant, cell, harness).label


@dataclass(frozen=True)
class Selector:
    """A configuration name as typed: each given part must match."""

    model: str
    quant: str | None = None
    cell: str | None = None
    harness: str | None = None

    def matches(self, config: Config) -> bool:
        """Whether ``config`` has every part this selector gives (the cell by prefix)."""
        return (
            self.model == config.model
            and self.quant in (None, config.quant)
            and (self.cell is None or config.cell.startswith(self.cell))
            and self.harness in (None, config.harness)
        )


def parse_selector(text: str) -> Selector:
    """Parse ``model[:quant][@cell][+harness]``.

    Raises:
        UsageError: When the text does not have that shape.
    """
    found = _PATTERN.match(text.strip())
    if found is None:
        raise UsageError(f"configuration {text!r} is not of the form {SYNTAX}")
    return Selector(**found.groupdict())  # type: ignore[arg-type]


def resolve(text: str, configs: Iterable[Config]) -> Config:
    """The one configuration that ``text`` names among ``configs``.

    Raises:
        UsageError: When it names none (listing the valid names) or several.
    """
    known = sorted(set(configs))
    selector = parse_selector(text)
    chosen = [c for c in known if selector.matches(c)]
    if not chosen:
        raise unknown_name("configuration", text, [c.label for c in known])
    if len(chosen) > 1:
        names = ", ".join(c.label for c in chosen)
        raise UsageError(
            f"configuration {text!r} is ambiguous: it matches {names}; "
            f"add :quant, @cell or +harness ({SYNTAX})"
        )
    return chosen[0]
