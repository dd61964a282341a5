"""Config validation: every kind of problem, reported with its file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from benchlab.config import load_models, load_task, load_tasks, validate_all
from benchlab.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def problems(exc: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


def test_shipped_config_is_valid() -> None:
    models, tasks = validate_all(REPO / "models.yaml", REPO / "tasks")
    assert models.models, "models.yaml lists at least the demo model"
    assert "sample" in tasks


def test_three_model_problems_each_on_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "models.yaml",
        """
        bucket: benchlab
        models:
          - name: a
            repo_id: org/a
            quant_tags: [Q4_K_M]
            colour: red
          - name: b
            quant_tags: [Q8_0]
          - name: c
            repo_id: org/c
            quant_tags:
              - Q4_K_M
              - 4
        """,
    )
    with pytest.raises(ConfigError) as exc:
        load_models(path)
    assert problems(exc) == [
        f"{path}:6: models[0].colour: unknown key",
        f"{path}:7: models[1].repo_id: required but missing",
        f"{path}:13: models[2].quant_tags[1]: Input should be a valid string",
    ]


def test_api_model_needs_base_url_and_key_env(tmp_path: Path) -> None:
    path = write(
        tmp_path / "models.yaml",
        """
        models:
          - name: gpt
            provider: openai
            api_key_env: OPENAI_API_KEY
        """,
    )
    with pytest.raises(ConfigError) as exc:
        load_models(path)
    assert problems(exc) == [f"{path}:2: models[0].base_url: required but missing"]


def test_duplicate_model_names(tmp_path: Path) -> None:
    path = write(
        tmp_path / "models.yaml",
        """
        models:
          - {name: a, repo_id: org/a, quant_tags: [Q4_K_M]}
          - {name: a, repo_id: org/b, quant_tags: [Q4_K_M]}
        """,
    )
    with pytest.raises(ConfigError) as exc:
        load_models(path)
    assert "model name 'a' is used twice" in problems(exc)[0]


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    path = write(tmp_path / "models.yaml", "models:\n  - name: a\n   bad: [\n")
    with pytest.raises(ConfigError) as exc:
        load_models(path)
    (problem,) = exc.value.problems
    assert problem.file == str(path)
    assert problem.line is not None and problem.line >= 2
    assert "invalid YAML" in problem.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_models(tmp_path / "nope.yaml")
    assert problems(exc) == [f"{tmp_path / 'nope.yaml'}: file not found"]


def test_top_level_must_be_mapping(tmp_path: Path) -> None:
    path = write(tmp_path / "models.yaml", "- a\n- b\n")
    with pytest.raises(ConfigError) as exc:
        load_models(path)
    assert problems(exc) == [f"{path}:1: expected a mapping at the top level"]


TASK = """
name: t
archetype: {archetype}
repository:
  path: repo
prompt: "Add {{{{feature}}}} to the module"
variables:
  feature: subtraction
checks:
  - name: tests
    run: python3 -m unittest
"""


def test_unknown_archetype_names_the_valid_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "tasks" / "t.yaml", TASK.format(archetype="planning"))
    with pytest.raises(ConfigError) as exc:
        load_task(path)
    (line,) = problems(exc)
    assert line.startswith(f"{path}:2: archetype: ")
    for valid in (
        "architectural_planning",
        "repo_maintenance",
        "feature_implementation",
        "comparative_research",
    ):
        assert valid in line


def test_valid_task_renders_prompt(tmp_path: Path) -> None:
    path = write(tmp_path / "tasks" / "t.yaml", TASK.format(archetype="repo_maintenance"))
    task = load_task(path)
    assert task.rendered_prompt() == "Add subtraction to the module"
    assert task.checks[0].expect_exit == 0


def test_undefined_prompt_variable(tmp_path: Path) -> None:
    text = TASK.format(archetype="repo_maintenance").replace("  feature: subtraction\n", "  x: y\n")
    path = write(tmp_path / "tasks" / "t.yaml", text)
    with pytest.raises(ConfigError) as exc:
        load_task(path)
    assert problems(exc) == [f"{path}:5: prompt: uses undefined variables: feature"]


def test_task_name_must_match_file(tmp_path: Path) -> None:
    path = write(tmp_path / "tasks" / "other.yaml", TASK.format(archetype="repo_maintenance"))
    with pytest.raises(ConfigError) as exc:
        load_task(path)
    assert problems(exc) == [f"{path}:1: name: must match the file name 'other'"]


def test_repository_needs_exactly_one_source(tmp_path: Path) -> None:
    text = TASK.format(archetype="repo_maintenance").replace(
        "  path: repo\n", "  path: repo\n  url: https://example.org/r.git\n"
    )
    path = write(tmp_path / "tasks" / "t.yaml", text)
    with pytest.raises(ConfigError) as exc:
        load_task(path)
    assert problems(exc) == [f"{path}:3: repository: give exactly one of url or path"]


def test_option_injection_in_ref_refused(tmp_path: Path) -> None:
    text = TASK.format(archetype="repo_maintenance").replace(
        "  path: repo\n", "  path: repo\n  ref: --upload-pack=touch /tmp/x\n"
    )
    path = write(tmp_path / "tasks" / "t.yaml", text)
    with pytest.raises(ConfigError) as exc:
        load_task(path)
    assert "ref must not start with '-'" in problems(exc)[0]


def test_all_task_files_reported_together(tmp_path: Path) -> None:
    write(tmp_path / "t.yaml", TASK.format(archetype="nope"))
    write(tmp_path / "u.yaml", "name: u\nbogus: 1\n")
    with pytest.raises(ConfigError) as exc:
        load_tasks(tmp_path)
    files = {p.file for p in exc.value.problems}
    assert files == {str(tmp_path / "t.yaml"), str(tmp_path / "u.yaml")}


def test_yaml_error_names_where_the_unclosed_quote_began(tmp_path: Path) -> None:
    path = write(
        tmp_path / "tasks" / "t.yaml",
        """
        name: t
        archetype: repo_maintenance
        repository: {path: repo}
        prompt: "Fix the bug
        checks: []
        """,
    )
    with pytest.raises(ConfigError) as exc:
        load_task(path)
    assert problems(exc) == [
        f"{path}:4: invalid YAML: found unexpected end of stream (line 6, column 1), "
        "while scanning a quoted scalar that starts at line 4, column 9"
    ]


def test_yaml_error_without_context_keeps_the_problem_line(tmp_path: Path) -> None:
    path = write(tmp_path / "models.yaml", "models:\n  - name: a\n    repo: b: c\n")
    with pytest.raises(ConfigError) as exc:
        load_models(path)
    assert problems(exc) == [
        f"{path}:3: invalid YAML: mapping values are not allowed here (line 3, column 12)"
    ]
