"""YAML parsing that remembers the line of every key and list item.

Whatever the bytes, reading ends in a :class:`YamlDoc` or a :class:`ConfigError` whose
problems each name a line of the file: bytes that are not UTF-8, YAML syntax, values
YAML cannot build (an impossible date), keys given twice, keys that are not strings,
NUL characters, nesting or alias expansion beyond sane limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from benchlab.config.yamlwalk import MAX_DEPTH, Lines, Loc, Walk, dotted
from benchlab.errors import ConfigError, Problem

__all__ = ["Loc", "YamlDoc", "dotted", "read_yaml"]


@dataclass
class YamlDoc:
    """A parsed YAML document and the 1-based line of each path in it."""

    path: Path
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int | None:
        """The line of ``loc``, or of its nearest ancestor that has one."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None


class _Loader(yaml.SafeLoader):
    """The safe loader: nesting limited as it composes, values it cannot build reported
    at their mark."""

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        # The composer recurses once per level: stop before Python's own limit does.
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                message = f"nested more than {MAX_DEPTH} levels deep"
                raise yaml.composer.ComposerError(None, None, message, mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:
            # ``2024-13-01`` is a timestamp to YAML, and datetime refuses it.
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read the value: {exc}", node.start_mark
            ) from None


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        message = f"not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be decoded"
        raise ConfigError([Problem(str(path), line, "", message)]) from None


def _syntax_error(path: Path, lines: Lines, exc: yaml.YAMLError) -> ConfigError:
    """The parser's own words with both of its marks: where it failed, and where the
    construct it was reading began.

    Where the parser ran off the end of the file (an unclosed quote or bracket), the
    fault is where that construct began, so the line reported is the context's.
    """
    line, message = 1, f"invalid YAML: {exc}"
    if isinstance(exc, yaml.MarkedYAMLError):
        problem, context = exc.problem_mark, exc.context_mark
        line = lines.at(problem.index) if problem else 1
        message = f"invalid YAML: {exc.problem or exc.context}"
        if problem is not None:
            message += f" (line {problem.line + 1}, column {problem.column + 1})"
        if context is not None and exc.context:
            context_line = lines.at(context.index)
            message += f", {exc.context} that starts at line {context.line + 1}, column "
            message += str(context.column + 1)
            if problem is None or "end of stream" in (exc.problem or ""):
                line = context_line
    elif isinstance(exc, yaml.reader.ReaderError):
        line = lines.at(exc.position)
        message = f"invalid YAML: character #x{exc.character:04x} is not allowed"
    return ConfigError([Problem(str(path), line, "", message)])


def read_yaml(path: Path) -> YamlDoc:
    """Parse ``path``; any problem becomes a :class:`ConfigError` with its line."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([Problem(str(path), None, "", "file not found")]) from None
    except OSError as exc:
        raise ConfigError([Problem(str(path), None, "", f"cannot read: {exc}")]) from None
    text = _decode(path, raw)
    lines = Lines(text)
    walk = Walk(path, lines)
    try:
        data = _load(text, walk)
    except yaml.YAMLError as exc:
        raise _syntax_error(path, lines, exc) from None
    except RecursionError:
        # The composer recurses once per level, before the walk can count them.
        message = f"nested more than {MAX_DEPTH} levels deep"
        raise ConfigError([Problem(str(path), 1, "", message)]) from None
    return YamlDoc(path=path, data=data, lines=walk.found)


def _load(text: str, walk: Walk) -> Any:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        walk.walk(node, ())
        if walk.problems:
            raise ConfigError(walk.problems)
        return loader.construct_document(node)
    finally:
        loader.dispose()
