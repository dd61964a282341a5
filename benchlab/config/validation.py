"""Turn pydantic validation errors into ``FILE:LINE: field.path: problem`` lines."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from benchlab.config.sweep import SWEEP_TAGS
from benchlab.config.yamlsource import Loc, YamlDoc, dotted
from benchlab.errors import ConfigError, Problem

M = TypeVar("M", bound=BaseModel)

# Tags of discriminated unions appear in pydantic's error locations; they are not
# keys of the file, so they are dropped from what the user sees.
GRADER_KINDS = frozenset({"regex", "contains", "exact", "json_schema", "command", "composite"})
UNION_TAGS = frozenset({"local", "api"}) | SWEEP_TAGS | GRADER_KINDS


def _clean(loc: tuple[Any, ...], data: Any) -> Loc:
    """``loc`` without union tags; a part that is a key of the file's data always stays."""
    out: list[str | int] = []
    node = data
    for part in loc:
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_list or (isinstance(node, dict) and part in node):
            node = node[part]
        elif part in UNION_TAGS:
            continue
        else:
            node = None
        out.append(part)
    return tuple(out)


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required but missing"
    message = str(error["msg"])
    if kind.startswith("value_error"):
        message = message.removeprefix("Value error, ")
    return message


def problems_from(doc: YamlDoc, exc: ValidationError) -> list[Problem]:
    """One :class:`Problem` per validation error, each with the line of its key."""
    problems = []
    for error in exc.errors():
        loc = _clean(error["loc"], doc.data)
        line = doc.line_of(loc) or 1
        problems.append(Problem(str(doc.path), line, dotted(loc), _message(error)))
    return problems


def validate_doc(doc: YamlDoc, model: type[M], context: dict[str, Any] | None = None) -> M:
    """Validate ``doc`` as ``model``, raising :class:`ConfigError` with every problem."""
    if not isinstance(doc.data, dict):
        raise ConfigError([Problem(str(doc.path), 1, "", "expected a mapping at the top level")])
    try:
        return model.model_validate(doc.data, context=context)
    except ValidationError as exc:
        raise ConfigError(problems_from(doc, exc)) from None
