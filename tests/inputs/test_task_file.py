"""Malformed task files: each is refused with ``FILE:LINE: field: problem``.

The same breakage as for ``models.yaml`` (see ``test_models_file``), on generated valid
tasks: a value of the wrong type, an unknown or missing key, a bad choice, a negative
limit, a key given twice or not a string, a NUL character; bytes, characters, syntax and
shape. ``load_tasks`` reports the problems of every file of a directory together.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from benchlab.config import load_task, load_tasks
from benchlab.errors import ConfigError
from tests.inputs.cli import check_refused
from tests.inputs.emit import emit
from tests.inputs.mutate import mutation
from tests.inputs.problems import assert_reports, check_lines, refusal
from tests.inputs.textual import broken, dumped, structures
from tests.inputs.valid import task_file

HEADER = st.lists(st.sampled_from(["# a task", ""]), max_size=2).map(tuple)
FAST = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / "tasks" / f"{name}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


@FAST
@given(data=st.data(), valid=task_file(), header=HEADER)
def test_valid_task_broken_in_one_value_names_its_line_and_field(
    tmp_path: Path, data: st.DataObject, valid: dict[str, Any], header: tuple[str, ...]
) -> None:
    name = valid["name"]
    assert load_task(_write(tmp_path, name, emit(valid, header).text.encode())).name == name
    broken_doc = data.draw(mutation(valid, task=True), label="mutation")
    emitted = emit(broken_doc.data, header)
    found = refusal(load_task, _write(tmp_path, name, emitted.text.encode()))
    assert_reports(found, broken_doc.expected, emitted, len(header))


@FAST
@given(data=st.data(), valid=task_file())
def test_broken_bytes_syntax_and_shape_name_a_real_line(
    tmp_path: Path, data: st.DataObject, valid: dict[str, Any]
) -> None:
    bad = data.draw(broken(emit(valid).text), label="broken")
    found = refusal(load_task, _write(tmp_path, valid["name"], bad.data))
    if bad.line is not None:
        assert found == [(bad.line, found[0][1])] and bad.says in found[0][1], (bad, found)
    else:
        assert bad.says in found[0][1], found


@FAST
@given(doc=structures().flatmap(dumped))
def test_any_structure_loads_or_is_refused_line_by_line(tmp_path: Path, doc: bytes) -> None:
    path = _write(tmp_path, "t", doc)
    try:
        load_task(path)
    except ConfigError as exc:
        check_lines(path, exc.problems)


@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data(), tasks=st.lists(task_file(), min_size=2, max_size=3,
                                      unique_by=lambda t: t["name"]))  # fmt: skip
def test_a_directory_reports_every_broken_file(
    tmp_path: Path, data: st.DataObject, tasks: list[dict[str, Any]]
) -> None:
    folder = tmp_path / "tasks"
    if folder.exists():
        for old in folder.iterdir():
            old.unlink()
    paths = []
    for task in tasks:
        bad = data.draw(mutation(task, task=True), label=task["name"])
        paths.append(_write(tmp_path, task["name"], emit(bad.data).text.encode()))
    with pytest.raises(ConfigError) as caught:
        load_tasks(folder)
    for path in paths:
        check_lines(path, [p for p in caught.value.problems if p.file == str(path)])


@settings(
    max_examples=2,
    deadline=None,
    database=None,
    phases=[Phase.generate],  # each example is a subprocess: no shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), valid=task_file())
def test_check_command_exits_2_with_the_same_lines(
    tmp_path: Path, data: st.DataObject, valid: dict[str, Any]
) -> None:
    broken_doc = data.draw(mutation(valid, task=True), label="mutation")
    # tmp_path is shared by the examples: each gets a tasks folder of its own.
    own = Path(tempfile.mkdtemp(dir=tmp_path))
    path = _write(own, valid["name"], emit(broken_doc.data).text.encode())
    with pytest.raises(ConfigError) as caught:
        load_task(path)
    models = tmp_path / "models.yaml"
    models.write_text("models: []\n")
    check_refused(models, path.parent, caught.value)
