"""Task checks as real shell processes: pass, fail, timeout, and the sample task."""

from __future__ import annotations

from pathlib import Path

from benchlab.checks import run_check, run_checks
from benchlab.config import load_task
from benchlab.config.tasks import Check
from benchlab.workspace import diff, prepare_workspace
from tests.helpers_proc import marker, processes_with, wait_gone

TASKS = Path(__file__).resolve().parents[1] / "tasks"


def test_pass_fail_and_expected_exit(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("42\n")
    checks = [
        Check(name="reads workspace", run="grep -q 42 data.txt && echo found"),
        Check(name="fails", run="echo oops >&2; exit 3"),
        Check(name="expects 3", run="exit 3", expect_exit=3),
    ]
    ok, failed, expected = run_checks(checks, tmp_path)
    assert ok.passed and ok.exit_code == 0 and "found" in ok.output
    assert not failed.passed and failed.exit_code == 3 and "oops" in failed.output
    assert failed.command == "echo oops >&2; exit 3" and failed.expected_exit == 0
    assert expected.passed and expected.exit_code == 3
    assert all(r.duration_s >= 0 and not r.timed_out for r in (ok, failed, expected))


def test_all_checks_run_after_a_failure(tmp_path: Path) -> None:
    checks = [Check(name=f"c{i}", run=f"touch ran{i}; exit {i % 2}") for i in range(4)]
    results = run_checks(checks, tmp_path, log_dir=tmp_path / "logs")
    assert [r.passed for r in results] == [True, False, True, False]
    assert all((tmp_path / f"ran{i}").exists() for i in range(4))
    assert len(list((tmp_path / "logs").glob("*.log"))) == 4


def test_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    tag = marker()
    check = Check(name="hangs", run=f"sleep {tag} & sleep {tag}; echo never", timeout_s=1)
    result = run_check(check, tmp_path)
    assert result.timed_out and result.exit_code is None and not result.passed
    assert "timeout" in result.output and "never" not in result.output
    assert result.duration_s < 1 + 5 + 2
    assert wait_gone(f"sleep {tag}") == []


def test_background_leftovers_are_stopped_after_a_passing_check(tmp_path: Path) -> None:
    tag = marker()
    result = run_check(Check(name="bg", run=f"(sleep {tag} &) ; exit 0"), tmp_path)
    assert result.passed
    assert wait_gone(f"sleep {tag}") == [], processes_with(f"sleep {tag}")


def test_output_tail_is_kept(tmp_path: Path) -> None:
    check = Check(name="loud", run="for i in $(seq 1 20000); do echo line-$i; done")
    result = run_check(check, tmp_path, tail_bytes=1000)
    assert len(result.output) < 1100 and result.output.rstrip().endswith("line-20000")
    assert "bytes cut" in result.output


def test_check_in_a_missing_directory_fails_without_raising(tmp_path: Path) -> None:
    result = run_check(Check(name="nowhere", run="true"), tmp_path / "missing")
    assert not result.passed and result.exit_code is None and "cannot start" in result.output


def test_sample_task_fails_as_shipped_and_passes_when_solved() -> None:
    task = load_task(TASKS / "sample.yaml")
    ws = prepare_workspace(task, TASKS)
    try:
        before = run_checks(task.checks, ws.path)
        assert [(r.name, r.passed) for r in before] == [
            ("existing tests", True),
            ("divide works", False),
        ]
        with (ws.path / "calc.py").open("a") as handle:
            handle.write(
                "\n\ndef divide(a: float, b: float) -> float:\n"
                '    """Return a divided by b."""\n'
                "    if b == 0:\n"
                '        raise ValueError("division by zero")\n'
                "    return a / b\n"
            )
        after = run_checks(task.checks, ws.path)
        assert all(r.passed for r in after), [r.output for r in after]
        changed = diff(ws.path, ws.start_commit, task.allowed_paths)
        assert changed.files == ("calc.py",) and changed.outside_allowed == ()
    finally:
        ws.remove()
