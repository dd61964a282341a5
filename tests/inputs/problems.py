"""What every refusal of a configuration file must look like, checked in one place."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from benchlab.config.yamlsource import dotted
from benchlab.errors import ConfigError, Problem
from tests.inputs.emit import Emitted, Loc
from tests.inputs.mutate import Expected


def line_count(data: bytes) -> int:
    """Lines of the file as an editor counts them (a last line without newline counts)."""
    return max(1, data.count(b"\n") + (0 if data.endswith(b"\n") else 1))


def check_lines(path: Path, problems: list[Problem]) -> list[tuple[int, str]]:
    """Each problem as ``(line, rest)``, asserting ``PATH:LINE: ...`` on one real line."""
    assert problems, "a ConfigError names at least one problem"
    pattern = re.compile(rf"^{re.escape(str(path))}:(?P<line>[1-9][0-9]*): (?P<rest>\S.*)$")
    total = line_count(path.read_bytes())
    found = []
    for problem in problems:
        text = str(problem)
        assert len(text.splitlines()) == 1 and "\n" not in text, text
        match = pattern.match(text)
        assert match is not None, f"not PATH:LINE: FIELD: PROBLEM: {text!r}"
        line = int(match["line"])
        assert 1 <= line <= total, f"line {line} of a {total}-line file: {text!r}"
        found.append((line, match["rest"]))
    return found


def refusal(load: Callable[[Path], Any], path: Path) -> list[tuple[int, str]]:
    """Load ``path``, which must be refused; its problems as ``(line, rest)``."""
    with pytest.raises(ConfigError) as caught:
        load(path)
    found = check_lines(path, caught.value.problems)
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    return found


def expected_line(emitted: Emitted, header: int, loc: Loc) -> int:
    """The line of ``loc`` in the emitted text; the root's is its first line of data."""
    return emitted.lines[loc] if loc else header + 1


def assert_reports(
    found: list[tuple[int, str]], expected: Expected, emitted: Emitted, header: int
) -> None:
    """One of ``found`` is the expected problem, on the expected line and field."""
    line = expected_line(emitted, header, expected.line_of if expected.line_of is not None
                         else expected.loc)  # fmt: skip
    field = dotted(expected.loc)
    prefix = f"{field}: " if field else ""
    assert any(
        n == line and rest.startswith(prefix) and expected.says in rest for n, rest in found
    ), f"expected line {line} {prefix!r}...{expected.says!r}; got {found}"
