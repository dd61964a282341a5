"""A small block-style YAML writer that knows the line of every key and list item.

The tests need to know where each value of a generated file is, independently of the
loader under test, to check that a problem names the right line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

Loc = tuple[Any, ...]


@dataclass(frozen=True)
class Pairs:
    """A mapping written in this order, keys possibly repeated (``dict`` cannot say that)."""

    items: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Raw:
    """A key or scalar written as it is, unquoted (``1``, ``true``, ``null``)."""

    text: str


@dataclass
class Emitted:
    """The text and the 1-based line of each path (of its last occurrence)."""

    text: str
    lines: dict[Loc, int] = field(default_factory=dict)

    @property
    def line_count(self) -> int:
        return max(1, self.text.count("\n") + (0 if self.text.endswith("\n") else 1))


def _scalar(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, float):
        # A YAML 1.1 float needs a dot; JSON's ``1e+16`` would read back as a string.
        text = repr(value)
        return text if "." in text and "e" not in text else f"{value:.1f}"
    return json.dumps(value)


def _items(value: Any) -> list[tuple[Any, Any]] | None:
    if isinstance(value, Pairs):
        return list(value.items)
    if isinstance(value, dict):
        return list(value.items())
    return None


def _flow(value: Any) -> str:
    if _items(value) == [] or (isinstance(value, list) and not value):
        return "{}" if _items(value) is not None else "[]"
    return _scalar(value)


def _big(value: Any) -> bool:
    return bool(_items(value)) or (isinstance(value, list) and bool(value))


def emit(data: Any, header: tuple[str, ...] = ()) -> Emitted:
    """``data`` as block YAML after the ``header`` lines (comments, blank lines)."""
    out: list[str] = list(header)
    lines: dict[Loc, int] = {}

    def block(value: Any, loc: Loc, indent: int, first: str | None) -> None:
        # ``first`` is the prefix of the first line (``- `` of a list item), else the pad.
        pad = " " * indent
        items = _items(value)
        entries: list[tuple[Loc, str, Any]]
        if items is not None:
            entries = [((*loc, k), f"{_key(k)}:", v) for k, v in items]
        else:
            entries = [((*loc, i), "-", v) for i, v in enumerate(value)]
        for n, (child, label, item) in enumerate(entries):
            lead = first if n == 0 and first is not None else pad
            lines[child] = len(out) + 1
            if not _big(item):
                out.append(f"{lead}{label} {_flow(item)}")
            elif label == "-" and _items(item) is not None:
                block(item, child, indent + 2, f"{lead}- ")
            else:
                out.append(f"{lead}{label}")
                block(item, child, indent + 2, None)
        if loc and first is None and not entries:
            raise AssertionError("empty containers are written in flow style")

    if _big(data):
        block(data, (), 0, None)
    else:
        out.append(_flow(data))
    return Emitted("\n".join(out) + "\n", lines)


def _key(key: Any) -> str:
    return key.text if isinstance(key, Raw) else json.dumps(key)
