"""Mutations that make a valid document invalid in one known place.

Each mutation returns the document to write and what the loader must say: the path of
the bad value (``field``) and a piece of its message, or ``None`` when only the form of
the problem line can be checked (broken syntax, bytes that are not UTF-8).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tests.inputs.emit import Loc, Pairs, Raw

FREE = frozenset({"variables", "env", "schema"})
"""Mappings whose keys are the user's own: any key is allowed there."""

ENUMS = frozenset({"archetype", "backend", "flash_attn", "prompt_via", "source", "tests"})
BOUNDED = frozenset({
    "context_size", "ctx_size", "parallel", "threads", "batch_size", "n_gpu_layers",
    "max_turns", "timeout_s", "stuck_after_s", "input_price_per_mtok", "host_price_per_hour",
    "weight",
})  # fmt: skip
DISCRIMINATORS = frozenset({"provider", "kind"})
"""Keys that pick a model's or grader's type: changing them changes every other error."""


@dataclass(frozen=True)
class Expected:
    """Where the loader must report the problem, and what it must say."""

    loc: Loc
    says: str
    line_of: Loc | None = None
    """The path whose line the problem has; ``loc`` itself when None."""


@dataclass(frozen=True)
class Mutated:
    """A broken document and what the loader must report about it."""

    data: Any
    expected: Expected
    kind: str


def walk(data: Any, loc: Loc = ()) -> list[tuple[Loc, Any]]:
    """Every (path, value) of ``data``, the root included."""
    found = [(loc, data)]
    if isinstance(data, dict):
        for key, value in data.items():
            found += walk(value, (*loc, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += walk(value, (*loc, index))
    return found


def get(data: Any, loc: Loc) -> Any:
    for part in loc:
        data = data[part]
    return data


def replace(data: Any, loc: Loc, value: Any) -> Any:
    """A copy of ``data`` with the value at ``loc`` replaced (by a :class:`Pairs` too)."""
    if not loc:
        return value
    head, rest = loc[0], loc[1:]
    if isinstance(data, list):
        assert isinstance(head, int)
        return [replace(v, rest, value) if i == head else v for i, v in enumerate(data)]
    return {k: (replace(v, rest, value) if k == head else v) for k, v in data.items()}


def _field(loc: Loc) -> str | None:
    names = [part for part in loc if isinstance(part, str)]
    return names[-1] if names else None


def _free(loc: Loc) -> bool:
    return any(part in FREE for part in loc)


def _in_sweep(loc: Loc) -> bool:
    return "engine" in loc


def _mappings(data: Any, free: bool) -> list[tuple[Loc, dict[str, Any]]]:
    return [(loc, v) for loc, v in walk(data) if isinstance(v, dict) and (free or not _free(loc))]


def _leaves(data: Any, test: Callable[[Loc, Any], bool]) -> list[tuple[Loc, Any]]:
    return [(loc, v) for loc, v in walk(data) if loc and test(loc, v)]


def required_keys(loc: Loc, mapping: dict[str, Any], task: bool) -> tuple[str, ...]:
    """The keys of ``mapping`` (at ``loc``) that the schema requires."""
    if not loc:
        return ("name", "archetype", "repository", "prompt") if task else ()
    parent = loc[-2] if len(loc) >= 2 else None
    if parent == "models":
        return (
            ("name", "base_url", "api_key_env")
            if "provider" in mapping
            else ("name", "repo_id", "quant_tags")
        )
    required = {
        "agents": ("name", "argv"),
        "checks": ("name", "run"),
        "guidelines": ("name", "description"),
        "graders": ("text",),
    }
    return required.get(str(parent), ())


@st.composite
def mutation(draw: st.DrawFn, valid: Any, task: bool) -> Mutated:
    """One mutation of ``valid`` among those that apply to it."""
    choices: list[Callable[[], Mutated]] = []

    def unknown_key() -> Mutated:
        loc, mapping = draw(st.sampled_from(_mappings(valid, free=False)))
        at = draw(st.integers(0, len(mapping)))
        items = list(mapping.items())
        items.insert(at, ("zz_unknown", 1))
        return Mutated(replace(valid, loc, dict(items)), Expected((*loc, "zz_unknown"),
                       "unknown key"), "unknown key")  # fmt: skip

    def missing_key() -> Mutated:
        options = [(loc, key) for loc, mapping in _mappings(valid, free=False)
                   for key in required_keys(loc, mapping, task) if key in mapping]  # fmt: skip
        loc, key = draw(st.sampled_from(options))
        left = {k: v for k, v in get(valid, loc).items() if k != key}
        return Mutated(replace(valid, loc, left), Expected((*loc, key), "required but missing",
                       line_of=loc), "missing key")  # fmt: skip

    def wrong_type() -> Mutated:
        def fits(loc: Loc, value: Any) -> bool:
            field = _field(loc)
            plain = not _free(loc) and field not in DISCRIMINATORS
            return plain and not (isinstance(value, list) and _in_sweep(loc))

        loc, value = draw(st.sampled_from(_leaves(valid, fits)))
        if isinstance(value, str):
            bad: Any = {"zz": 1}
        elif isinstance(value, int | float):
            bad = "not a number"
        else:
            bad = 5
        return Mutated(replace(valid, loc, bad), Expected(loc, ""), "wrong type")

    def bad_enum() -> Mutated:
        options = _leaves(valid, lambda loc, v: isinstance(v, str) and _field(loc) in ENUMS)
        loc, _ = draw(st.sampled_from(options))
        return Mutated(replace(valid, loc, "bogus"), Expected(loc, "Input should be"), "enum")

    def negative() -> Mutated:
        def fits(loc: Loc, v: Any) -> bool:
            return isinstance(v, int | float) and _field(loc) in BOUNDED

        loc, value = draw(st.sampled_from(_leaves(valid, fits)))
        bad = -1 if isinstance(value, int) else -0.5
        return Mutated(replace(valid, loc, bad), Expected(loc, "greater than"), "negative")

    def duplicate_key() -> Mutated:
        loc, mapping = draw(st.sampled_from([m for m in _mappings(valid, free=True) if m[1]]))
        key = draw(st.sampled_from(sorted(mapping)))
        items: list[tuple[str, Any]] = []
        for k, v in mapping.items():
            items += [(k, v), (k, v)] if k == key else [(k, v)]
        return Mutated(replace(valid, loc, Pairs(tuple(items))), Expected((*loc, key),
                       "given twice"), "duplicate key")  # fmt: skip

    def key_not_string() -> Mutated:
        loc, mapping = draw(st.sampled_from(_mappings(valid, free=True)))
        key = draw(st.sampled_from(["1", "true", "null", "2.5", "no"]))
        items = [(Raw(key), "x"), *mapping.items()]
        return Mutated(replace(valid, loc, Pairs(tuple(items))), Expected(loc, "is not a string",
                       line_of=(*loc, Raw(key))), "key not a string")  # fmt: skip

    def nul_character() -> Mutated:
        loc, value = draw(st.sampled_from(_leaves(valid, lambda _, v: isinstance(v, str))))
        return Mutated(replace(valid, loc, value + "\x00"), Expected(loc, "NUL"), "NUL")

    choices += [unknown_key, key_not_string]
    if any(loc for loc, _ in walk(valid)):
        choices.append(wrong_type)
    if any(m for _, m in _mappings(valid, free=True)):
        choices.append(duplicate_key)
    if any(isinstance(v, str) for _, v in walk(valid)):
        choices.append(nul_character)
    if any(required_keys(loc, m, task) for loc, m in _mappings(valid, free=False)):
        choices.append(missing_key)
    if any(isinstance(v, str) and _field(loc) in ENUMS for loc, v in walk(valid)):
        choices.append(bad_enum)
    if any(isinstance(v, int | float) and _field(loc) in BOUNDED for loc, v in walk(valid)):
        choices.append(negative)
    return draw(st.sampled_from(choices))()
