"""A task's checks, run in the workspace after the agent; every check runs."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from benchlab.config.tasks import Check
from benchlab.errors import ServiceError
from benchlab.results import CheckResult
from benchlab.sandbox.base import SandboxSession
from benchlab.settings import inherited_env
from benchlab.shell import TAIL_BYTES, run_shell
from benchlab.testreport import SuiteCounts, parse_junit, parse_pytest, parse_unittest
from benchlab.workspace import regular_file_inside


def run_check(
    check: Check,
    workspace: Path,
    *,
    env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
    tail_bytes: int = TAIL_BYTES,
    sandbox: SandboxSession | None = None,
) -> CheckResult:
    """Run one check with ``bash -c`` in its own process group.

    Args:
        check: The check from the task.
        workspace: The directory it runs in.
        env: Its complete environment; by default only the host's PATH, locale and
            TLS settings (see :func:`benchlab.settings.inherited_env`).
        log_path: Where its full output goes; only the tail is kept otherwise.
        tail_bytes: How much output the result keeps.
        sandbox: Where it runs; on the host when None.

    Returns:
        The result, with test counts when the check names a report to read; a check
        that cannot even start counts as failed, with the reason as its output.
    """
    env = dict(inherited_env() if env is None else env)
    junit = _pytest_junit_path(check, log_path)
    if junit is not None:
        # pytest writes a JUnit report whatever its verbosity (-qq prints no summary);
        # the check's own --junitxml, given after these options, wins.
        junit.unlink(missing_ok=True)
        option = shlex.quote(f"--junitxml={junit}")
        env["PYTEST_ADDOPTS"] = f"{env.get('PYTEST_ADDOPTS', '')} {option}".strip()
    try:
        result = run_shell(
            check.run,
            cwd=workspace,
            env=env,
            timeout_s=check.timeout_s,
            log_path=log_path,
            tail_bytes=tail_bytes,
            sandbox=sandbox,
        )
    except ServiceError as exc:
        return CheckResult(
            name=check.name,
            command=check.run,
            exit_code=None,
            expected_exit=check.expect_exit,
            passed=False,
            duration_s=0.0,
            output=str(exc),
        )
    output = result.output
    if result.timed_out:
        output += f"\n[benchlab: check stopped after its timeout of {check.timeout_s:g}s]"
    counts, source = _test_counts(check, workspace, log_path, output, junit)
    if (check.tests or check.junit) and counts is None:
        output += "\n[benchlab: no test report found to count tests from]"
    elif counts is not None:
        output += f"\n[benchlab: test counts from {source}]"
    return CheckResult(
        name=check.name,
        command=check.run,
        exit_code=result.exit_code,
        expected_exit=check.expect_exit,
        passed=not result.timed_out and result.exit_code == check.expect_exit,
        duration_s=result.duration_s,
        output=output,
        timed_out=result.timed_out,
        tests_passed=counts.passed if counts else None,
        tests_failed=counts.failed + counts.errors if counts else None,
        tests_skipped=counts.skipped if counts else None,
        tests_source=source if counts else None,
    )


def _pytest_junit_path(check: Check, log_path: Path | None) -> Path | None:
    """Where pytest is asked to write its JUnit report: beside the check's log (in the
    trial directory, writable in every sandbox), for pytest checks without one of their
    own."""
    if check.tests != "pytest" or check.junit or log_path is None:
        return None
    return log_path.with_suffix(".junit.xml")


def _test_counts(
    check: Check, workspace: Path, log_path: Path | None, tail: str, junit: Path | None
) -> tuple[SuiteCounts | None, str]:
    """The counts and where they came from: ``junit`` (the task's report), ``pytest junit``
    (the report benchlab asked pytest for), ``pytest summary`` or ``unittest summary``."""
    if check.junit:
        report = regular_file_inside(workspace, check.junit)
        return (parse_junit(report) if report is not None else None), "junit"
    if check.tests is None:
        return None, ""
    if junit is not None and junit.is_file():
        counts = parse_junit(junit)
        if counts is not None and counts.total > 0:
            return counts, "pytest junit"
    # The summary is at the end; the full log has it even when the tail was cut.
    text = log_path.read_text(errors="replace") if log_path and log_path.is_file() else tail
    if check.tests == "pytest":
        return parse_pytest(text), "pytest summary"
    return parse_unittest(text), "unittest summary"


def run_checks(
    checks: Sequence[Check],
    workspace: Path,
    *,
    env: Mapping[str, str] | None = None,
    log_dir: Path | None = None,
    tail_bytes: int = TAIL_BYTES,
    sandbox: SandboxSession | None = None,
) -> tuple[CheckResult, ...]:
    """Run every check in order, whether or not earlier ones passed.

    Args:
        checks: The task's checks.
        workspace: The directory they run in.
        env: Their environment (see :func:`run_check`).
        log_dir: If given, each check's full output is kept as ``<index>-<name>.log``.
        tail_bytes: How much output each result keeps.
        sandbox: Where they run; on the host when None.

    Returns:
        One result per check, in order.
    """
    results = []
    for index, check in enumerate(checks):
        log_path = None
        if log_dir is not None:
            log_path = log_dir / f"{index:02d}-{check.name.replace(' ', '_')}.log"
        results.append(
            run_check(
                check,
                workspace,
                env=env,
                log_path=log_path,
                tail_bytes=tail_bytes,
                sandbox=sandbox,
            )
        )
    return tuple(results)
