"""The CLI as a user runs it: a real subprocess, its output and exit code."""

from __future__ import annotations

import re
import subprocess
import textwrap
from pathlib import Path

from tests.run_cli import REPO, benchlab


def test_check_ok_on_shipped_config() -> None:
    done = benchlab("check")
    assert done.returncode == 0, done.stderr
    assert "ok" in done.stdout and "(1 model, 1 engine cell)" in done.stdout


def test_check_reports_three_problems_and_exits_2(tmp_path: Path) -> None:
    models = tmp_path / "models.yaml"
    models.write_text(
        textwrap.dedent(
            """\
            models:
              - name: a
                repo_id: org/a
                quant_tags: [Q4_K_M]
                flavour: vanilla
              - name: b
                quant_tags: [Q8_0]
              - name: c
                repo_id: org/c
                quant_tags: [Q4_K_M, 8]
            """
        )
    )
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "t.yaml").write_text("name: t\narchetype: vibes\nrepository: {path: r}\nprompt: hi\n")
    done = benchlab("check", "--config", str(models), "--tasks-dir", str(tasks))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines[:3] == [
        f"{models}:5: models[0].flavour: unknown key",
        f"{models}:6: models[1].repo_id: required but missing",
        f"{models}:10: models[2].quant_tags[1]: Input should be a valid string",
    ]
    assert lines[3].startswith(f"{tasks / 't.yaml'}:2: archetype: Input should be ")
    assert "architectural_planning" in lines[3] and "comparative_research" in lines[3]
    assert "Traceback" not in done.stderr
    assert len(lines) == 4


def test_unknown_task_lists_valid_names() -> None:
    done = benchlab("demo", "--task", "no-such-task")
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: unknown task 'no-such-task'; valid: ")
    assert "sample" in done.stderr
    assert "Traceback" not in done.stderr


def test_usage_error_exits_2() -> None:
    done = benchlab("check", "--no-such-flag")
    assert done.returncode == 2


def test_models_and_tasks_list() -> None:
    models = benchlab("models", "list")
    assert models.returncode == 0, models.stderr
    assert "gemma3-270m" in models.stdout
    tasks = benchlab("tasks", "list")
    assert tasks.returncode == 0, tasks.stderr
    assert "sample" in tasks.stdout and "feature_implementation" in tasks.stdout


def test_doctor_shows_a_table(tmp_path: Path) -> None:
    done = benchlab("doctor", env={"BENCHLAB_DATA_DIR": str(tmp_path / "data")})
    assert done.returncode == 0, done.stderr
    for component in ("llama-server", "git", "node", "npm", "pi agent", "docker", "GPU", "S3"):
        assert component in done.stdout
    # pi is not installed in a fresh data dir: doctor says so and how to get it.
    assert "not installed" in done.stdout
    # The engine really generated, and the build that did it is named.
    text = " ".join(done.stdout.split())
    assert re.search(r"engine +│ ok +│ generated \d+ tokens in", done.stdout), done.stdout
    assert re.search(r"build: .*sha [0-9a-f]{12}\), CPU \w+, backends CPU", text), text


def test_doctor_fails_on_an_engine_that_cannot_generate(tmp_path: Path) -> None:
    """A llama-server that dies of SIGILL: doctor names the signal and the fix, exits 1."""
    from tests.engine.test_crash import fake_server

    done = benchlab(
        "doctor",
        env={
            "BENCHLAB_DATA_DIR": str(tmp_path / "data"),
            "BENCHLAB_LLAMA_SERVER": str(fake_server(tmp_path)),
        },
    )
    assert done.returncode == 1, done.stdout + done.stderr
    text = " ".join(done.stdout.replace("│", " ").split())
    assert "engine failed llama-server (selftest) killed by SIGILL (illegal instruction" in text
    assert "llama threadpool init, n_threads = 2" in text
    assert "fix: this llama-server was built for CPU features this host cannot run" in text
    assert "doctor: engine not working" in done.stderr
    assert "Traceback" not in done.stderr


def _task_dir(tmp_path: Path, repository: str, checks: str = "") -> Path:
    tasks = tmp_path / "tasks"
    tasks.mkdir(exist_ok=True)
    (tasks / "t.yaml").write_text(
        f"name: t\narchetype: repo_maintenance\nrepository: {repository}\nprompt: hi\n" + checks
    )
    return tasks


def _check(tasks: Path) -> subprocess.CompletedProcess[str]:
    return benchlab("check", "--config", str(REPO / "models.yaml"), "--tasks-dir", str(tasks))


def test_check_refuses_a_missing_repository_path(tmp_path: Path) -> None:
    tasks = _task_dir(tmp_path, "{path: repos/gone}")
    done = _check(tasks)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        f"{tasks / 't.yaml'}:3: repository.path: {tasks / 'repos/gone'} does not exist"
    ]


def test_check_refuses_a_repository_path_that_is_a_file(tmp_path: Path) -> None:
    tasks = _task_dir(tmp_path, "{path: notes.txt}")
    (tasks / "notes.txt").write_text("x")
    done = _check(tasks)
    assert done.returncode == 2
    assert done.stderr.strip().endswith("notes.txt is not a directory"), done.stderr


def test_check_refuses_a_ref_the_local_repository_lacks(tmp_path: Path) -> None:
    from tests.gitutil import make_repo

    tasks = _task_dir(tmp_path, "\n  path: repo\n  ref: v9.9.9")
    make_repo(tasks / "repo", {"a.py": "x = 1\n"})
    done = _check(tasks)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(
        f"{tasks / 't.yaml'}:5: repository.ref: ref 'v9.9.9' names no commit"
    )
    # The same task at a ref the repository has is fine.
    (tasks / "t.yaml").write_text((tasks / "t.yaml").read_text().replace("v9.9.9", "HEAD"))
    assert _check(tasks).returncode == 0


def test_check_refuses_a_blank_check_command(tmp_path: Path) -> None:
    tasks = _task_dir(tmp_path, "{path: repo}", "checks:\n  - {name: tests, run: '  '}\n")
    (tasks / "repo").mkdir()
    done = _check(tasks)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"{tasks / 't.yaml'}:6: checks[0].run: must be a command, not blank"
    ]


def test_check_refuses_a_missing_chat_template_file(tmp_path: Path) -> None:
    models = tmp_path / "models.yaml"
    models.write_text(
        "models:\n"
        "  - name: m\n"
        "    repo_id: org/m\n"
        "    quant_tags: [Q4_K_M]\n"
        "    chat_template_file: templates/none.jinja\n"
    )
    done = benchlab("check", "--config", str(models), "--tasks-dir", str(REPO / "tasks"))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"{models}:5: models[0].chat_template_file: {tmp_path / 'templates/none.jinja'} "
        "does not exist or is not a file"
    ]
