"""Which GGUF files of a repository make up one quantization.

A quant tag matches a file when it appears in the file's name as a whole token: not
preceded or followed by a letter, digit or underscore, case-insensitively. So
``Q4_K_M`` matches ``model-Q4_K_M.gguf`` and ``model.q4_k_m.gguf`` but neither
``model-IQ4_K_M.gguf`` nor ``model-Q4_K_M_L.gguf``. A split GGUF
(``NAME-00001-of-00003.gguf``) is one unit: all its parts or none.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol, TypeVar

from benchlab.errors import UsageError

UNSAFE_PART = re.compile(r"^\.{0,2}$|[\\\x00-\x1f\x7f]")
"""A path part that is empty, ``.``, ``..``, or holds a backslash or control character."""
SPLIT = re.compile(r"^(?P<base>.+)-(?P<index>\d{5})-of-(?P<count>\d{5})$")
# What quant tags look like, to list the ones a repository has when a tag matches nothing.
QUANT_TOKEN = re.compile(
    r"^(?:UD-)?(?:I?Q\d(?:_[A-Z0-9]+)*|TQ\d_\d|BF16|F16|F32|MXFP4(?:_MOE)?)$", re.IGNORECASE
)


class Named(Protocol):
    """A file with its path in the repository."""

    @property
    def name(self) -> str:
        """Path of the file in the repository."""
        ...


F = TypeVar("F", bound=Named)


class QuantError(UsageError):
    """A quant tag that matches no GGUF file, or a split GGUF with parts missing."""


def _stem(name: str) -> str:
    """The file name without folder, ``.gguf`` and split suffix."""
    base = name.rsplit("/", 1)[-1]
    base = base[: -len(".gguf")] if base.lower().endswith(".gguf") else base
    split = SPLIT.match(base)
    return split["base"] if split else base


def is_plain_path(name: str) -> bool:
    """Whether ``name`` is a relative path whose every part is a plain name.

    Names come from the hub's listing and become bucket keys and cache paths; a name
    with ``..`` or a leading ``/`` would put a file outside the model's prefix.
    """
    return not any(UNSAFE_PART.search(part) for part in name.split("/"))


def is_gguf(name: str) -> bool:
    """Whether ``name`` is a GGUF file."""
    return name.lower().endswith(".gguf")


def matches(tag: str, name: str) -> bool:
    """Whether ``tag`` is a token of the GGUF file name ``name``."""
    pattern = rf"(?<![A-Za-z0-9_]){re.escape(tag)}(?![A-Za-z0-9_])"
    return re.search(pattern, _stem(name), re.IGNORECASE) is not None


def tags_in(names: Sequence[str]) -> list[str]:
    """The quant tags that appear in GGUF file names, upper-cased and sorted."""
    found: set[str] = set()
    for name in names:
        if not is_gguf(name):
            continue
        stem = _stem(name)
        tokens = re.split(r"[-.]", stem)
        # A tag can hold one dash (``UD-Q4_K_XL``), so pairs of tokens are tried too.
        candidates = tokens + [f"{a}-{b}" for a, b in itertools.pairwise(tokens)]
        found.update(t.upper() for t in candidates if QUANT_TOKEN.match(t))
    return sorted(found)


def select(files: Sequence[F], tag: str) -> list[F]:
    """The files of ``files`` that make up quant ``tag``, split parts in order.

    Args:
        files: The repository's files.
        tag: The quant tag.

    Raises:
        QuantError: no GGUF file matches ``tag`` (the message lists the tags there are),
            a matching name is not a plain relative path, or a split GGUF is missing
            parts.
    """
    names = [f.name for f in files]
    units: dict[str, list[tuple[int, F]]] = defaultdict(list)
    counts: dict[str, int] = {}
    for file, name in zip(files, names, strict=True):
        if not is_gguf(name) or not matches(tag, name):
            continue
        if not is_plain_path(name):
            raise QuantError(f"the repository lists an unsafe file name {name!r}; refusing it")
        folder, _, base = name.rpartition("/")
        split = SPLIT.match(base[: -len(".gguf")])
        if split is None:
            units[name].append((1, file))
            counts[name] = 1
            continue
        unit = f"{folder}/{split['base']}" if folder else split["base"]
        units[unit].append((int(split["index"]), file))
        counts[unit] = int(split["count"])
    if not units:
        have = ", ".join(tags_in(names)) or "none"
        raise QuantError(f"no GGUF file matches quant {tag!r}; the repository has: {have}")
    selected: list[F] = []
    # A projector (mmproj) goes after the model, whose first file is the one to load.
    for unit in sorted(units, key=lambda u: ("mmproj" in u.lower(), u)):
        parts = sorted(units[unit], key=lambda p: p[0])
        if [i for i, _ in parts] != list(range(1, counts[unit] + 1)):
            raise QuantError(
                f"split GGUF {unit}: found parts {[i for i, _ in parts]} of {counts[unit]}"
            )
        selected.extend(f for _, f in parts)
    return selected
