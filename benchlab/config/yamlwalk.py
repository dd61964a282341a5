"""Walking a composed YAML document: the line of every path, and what it must not hold.

Lines are counted at ``\\n`` as editors count them; keys given twice, keys that are not
strings, NUL characters, aliases that refer to themselves and documents too large once
aliases are expanded are problems on their own lines.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from benchlab.errors import ConfigError, Problem

Loc = tuple[str | int, ...]

MAX_DEPTH = 64
"""Deeper nesting is refused: no configuration needs it, and a self-referring alias has
no end."""

MAX_NODES = 100_000
"""More values than this, counting each alias use in full, are refused (an alias bomb)."""

STR_TAG = "tag:yaml.org,2002:str"
MERGE_TAG = "tag:yaml.org,2002:merge"


PLAIN_KEY = re.compile(r"[\w-]+")


def dotted(loc: Loc) -> str:
    """``loc`` as the user reads it: ``models[0].quant_tags[1]``.

    A key that is not a plain name (empty, spaces, dots, punctuation) is quoted.
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        shown = part if PLAIN_KEY.fullmatch(part) else repr(part)
        out += f".{shown}" if out else shown
    return out


class Lines:
    """1-based line numbers of character offsets, counting ``\\n`` only as editors do.

    YAML also breaks lines at U+2028, U+0085 and a lone CR; its own line numbers then
    point past the file's real lines.
    """

    def __init__(self, text: str) -> None:
        self.breaks = [match.start() for match in re.finditer("\n", text)]
        self.count = max(1, len(self.breaks) + (0 if text.endswith("\n") else 1))

    def at(self, index: int) -> int:
        """The line of offset ``index``, never past the last line."""
        return min(bisect.bisect_left(self.breaks, index) + 1, self.count)


@dataclass
class Walk:
    """Records the line of every path, and what the file must not contain."""

    path: Path
    lines: Lines
    found: dict[Loc, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    nodes: int = 0
    open: set[int] = field(default_factory=set)
    """The nodes on the path being walked, to find an alias that refers to itself."""

    def problem(self, node: yaml.Node, loc: Loc, message: str) -> None:
        self.problems.append(Problem(str(self.path), self.line(node), dotted(loc), message))

    def line(self, node: yaml.Node) -> int:
        return self.lines.at(node.start_mark.index)

    def walk(self, node: yaml.Node, loc: Loc, depth: int = 0) -> None:
        self.nodes += 1
        what = None
        if id(node) in self.open:
            what = "refers to itself through an alias"
        elif depth > MAX_DEPTH:
            what = f"nested more than {MAX_DEPTH} levels deep"
        elif self.nodes > MAX_NODES:
            what = f"more than {MAX_NODES} values once aliases are expanded"
        if what is not None:
            # The first levels of the path are enough to find the place.
            raise ConfigError([Problem(str(self.path), self.line(node), dotted(loc[:3]), what)])
        self.found.setdefault(loc, self.line(node))
        self.open.add(id(node))
        if isinstance(node, yaml.MappingNode):
            self.mapping(node, loc, depth)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.walk(item, (*loc, index), depth + 1)
        elif isinstance(node, yaml.ScalarNode) and "\x00" in str(node.value):
            self.problem(node, loc, "contains a NUL character")
        self.open.discard(id(node))

    def mapping(self, node: yaml.MappingNode, loc: Loc, depth: int) -> None:
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                # Merged keys are counted and checked, but keep the lines of their anchor.
                self.walk(value_node, (*loc, "<<"), depth + 1)
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != STR_TAG:
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "..."
                self.problem(key_node, loc, f"key {shown!r} is not a string; quote it")
                continue
            key = str(key_node.value)
            child = (*loc, key)
            line = self.line(key_node)
            if key in seen:
                self.problem(key_node, child, f"given twice (first on line {seen[key]})")
            seen.setdefault(key, line)
            # The key's line, so an unknown or bad key points at itself.
            self.found[child] = line
            self.walk(value_node, child, depth + 1)
