"""Malformed ``models.yaml`` files: each is refused with ``FILE:LINE: field: problem``.

Valid files are generated, then broken in one known place (a value of the wrong type,
an unknown or missing key, a bad choice, a negative limit, a key given twice, a key that
is not a string, a NUL character) or below the level of values (bytes that are not
UTF-8, control characters, broken syntax, a root that is not a mapping, an empty file).
Arbitrary structures and bytes must never end in anything but a model or such a line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from benchlab.config import load_models
from benchlab.errors import ConfigError
from tests.inputs.cli import check_refused
from tests.inputs.emit import emit
from tests.inputs.mutate import mutation
from tests.inputs.problems import assert_reports, check_lines, refusal
from tests.inputs.textual import broken, dumped, structures
from tests.inputs.valid import MODELS_FILE

HEADER = st.lists(st.sampled_from(["# models", "", "# the matrix"]), max_size=2).map(tuple)
FAST = settings(max_examples=100, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


def _write(tmp: Path, data: bytes) -> Path:
    path = tmp / "models.yaml"
    path.write_bytes(data)
    return path


@FAST
@given(data=st.data(), valid=MODELS_FILE, header=HEADER)
def test_valid_file_broken_in_one_value_names_its_line_and_field(
    tmp_path: Path, data: st.DataObject, valid: dict[str, Any], header: tuple[str, ...]
) -> None:
    load_models(_write(tmp_path, emit(valid, header).text.encode()))
    broken_doc = data.draw(mutation(valid, task=False), label="mutation")
    emitted = emit(broken_doc.data, header)
    found = refusal(load_models, _write(tmp_path, emitted.text.encode()))
    assert_reports(found, broken_doc.expected, emitted, len(header))


@FAST
@given(data=st.data(), valid=MODELS_FILE)
def test_broken_bytes_syntax_and_shape_name_a_real_line(
    tmp_path: Path, data: st.DataObject, valid: dict[str, Any]
) -> None:
    bad = data.draw(broken(emit(valid).text), label="broken")
    found = refusal(load_models, _write(tmp_path, bad.data))
    if bad.line is not None:
        assert found == [(bad.line, found[0][1])] and bad.says in found[0][1], (bad, found)
    else:
        assert bad.says in found[0][1], found


@FAST
@given(doc=structures().flatmap(dumped))
def test_any_structure_loads_or_is_refused_line_by_line(tmp_path: Path, doc: bytes) -> None:
    path = _write(tmp_path, doc)
    try:
        load_models(path)
    except ConfigError as exc:
        check_lines(path, exc.problems)


@FAST
@given(doc=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_load_or_are_refused_line_by_line(tmp_path: Path, doc: bytes) -> None:
    path = _write(tmp_path, doc)
    try:
        load_models(path)
    except ConfigError as exc:
        check_lines(path, exc.problems)


@settings(
    max_examples=2,
    deadline=None,
    database=None,
    phases=[Phase.generate],  # each example is a subprocess: no shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), valid=MODELS_FILE)
def test_check_command_exits_2_with_the_same_lines(
    tmp_path: Path, data: st.DataObject, valid: dict[str, Any]
) -> None:
    broken_doc = data.draw(mutation(valid, task=False), label="mutation")
    path = _write(tmp_path, emit(broken_doc.data).text.encode())
    with pytest.raises(ConfigError) as caught:
        load_models(path)
    check_refused(path, tmp_path / "no-tasks", caught.value)


HOSTILE = {
    "not-utf8": b"models: [\xff]\n",
    "duplicate": b"bucket: abc\nbucket: abd\n",
    "self-alias": b"a: &a [*a]\n",
    "alias-bomb": b"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + b"".join(b"%c: &%c [%s]\n" % (c, c, b", ".join([b"*%c" % (c - 1)] * 10)) for c in b"bcdefgh"),
    "deep": b"x: " + b"[" * 3000,
    "timestamp": b"bucket: 2024-13-01\n",
    "long-zone": b"schedules: [{timezone: " + b"x" * 300 + b"}]\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_bytes_are_refused_on_a_line(tmp_path: Path, name: str) -> None:
    refusal(load_models, _write(tmp_path, HOSTILE[name]))


def test_check_command_on_hostile_bytes(tmp_path: Path) -> None:
    for name in ("not-utf8", "deep"):
        path = _write(tmp_path, HOSTILE[name])
        with pytest.raises(ConfigError) as caught:
            load_models(path)
        check_refused(path, tmp_path / "no-tasks", caught.value)
