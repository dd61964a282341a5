"""Breakage below the level of YAML values: bytes, characters, syntax, the document's shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from hypothesis import strategies as st

NOT_UTF8 = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80", b"\xf8\x88\x80\x80\x80"]
CONTROL = ["\x00", "\x07", "\x1b", "\x7f", "\x08"]
# Lines that are a syntax error wherever they stand in a block document of one-line values.
SYNTAX = ["\tbroken: 1", "@reserved", "*undefined", "]", "x: y: z", "- item", "key: &", "? [a"]
NOT_MAPPINGS = ["- a\n- b\n", "42\n", "just text\n", "null\n", "[1, 2]\n", '"quoted"\n', "~\n"]
EMPTY = ["", "\n\n", "# only a comment\n", "   \n", "---\n"]


@dataclass(frozen=True)
class Broken:
    """Bytes to write, and the line the problem must name when it is known."""

    data: bytes
    line: int | None
    says: str
    kind: str


@st.composite
def broken(draw: st.DrawFn, text: str) -> Broken:
    """``text`` (a valid document) broken in one way below the level of values."""
    lines = text.splitlines(keepends=True)
    kind = draw(st.sampled_from(["bytes", "control", "syntax", "root", "empty"]))
    if kind == "bytes":
        raw = text.encode()
        at = draw(st.integers(0, len(raw)))
        # Inside a multi-byte character the inserted bytes still cannot decode.
        data = raw[:at] + draw(st.sampled_from(NOT_UTF8)) + raw[at:]
        return Broken(data, raw.count(b"\n", 0, at) + 1, "not UTF-8", kind)
    if kind == "control":
        index = draw(st.integers(0, len(lines) - 1))
        body = lines[index].rstrip("\n")
        at = draw(st.integers(0, len(body)))
        lines[index] = body[:at] + draw(st.sampled_from(CONTROL)) + body[at:] + "\n"
        return Broken("".join(lines).encode(), index + 1, "is not allowed", kind)
    if kind == "syntax":
        index = draw(st.integers(0, len(lines)))
        lines.insert(index, draw(st.sampled_from(SYNTAX)) + "\n")
        return Broken("".join(lines).encode(), None, "invalid YAML", kind)
    if kind == "root":
        return Broken(draw(st.sampled_from(NOT_MAPPINGS)).encode(), 1, "expected a mapping", kind)
    return Broken(draw(st.sampled_from(EMPTY)).encode(), 1, "expected a mapping", kind)


KNOWN_KEYS = [
    "bucket", "engine", "models", "agents", "cost", "name", "repo_id", "quant_tags",
    "provider", "base_url", "api_key_env", "threads", "backend", "exclude", "extra_args",
    "archetype", "repository", "url", "path", "ref", "prompt", "variables", "limits",
    "checks", "run", "junit", "graders", "kind", "schema", "pattern", "argv", "env",
    "schedules", "cron", "timezone", "limits", "timeout_s", "protected_paths",
]  # fmt: skip

SCALARS = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
)  # fmt: skip


def structures() -> st.SearchStrategy[Any]:
    """Any tree of mappings, lists and scalars, keyed mostly by the schema's own names."""
    keys = st.sampled_from(KNOWN_KEYS) | st.text(max_size=8)
    return st.dictionaries(
        keys,
        st.recursive(
            SCALARS,
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
            max_leaves=12,
        ),
        max_size=6,
    )


@st.composite
def dumped(draw: st.DrawFn, data: Any) -> bytes:
    """``data`` as YAML in one of the styles PyYAML writes."""
    return yaml.safe_dump(
        data,
        default_flow_style=draw(st.sampled_from([False, True, None])),
        allow_unicode=draw(st.booleans()),
        sort_keys=False,
    ).encode()
