"""Test counts read from real pytest, unittest and JUnit XML output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchlab.checks import run_check
from benchlab.config.tasks import Check
from benchlab.testreport import SuiteCounts, parse_junit, parse_pytest, parse_unittest

SUITE = """
import unittest

class T(unittest.TestCase):
    def test_a(self): pass
    def test_b(self): pass
    def test_c(self): pass
    def test_fail(self): self.assertEqual(1, 2)
    def test_error(self): raise RuntimeError("boom")
    @unittest.skip("not today")
    def test_skip(self): pass
"""
UNITTEST = SuiteCounts(passed=3, failed=1, errors=1, skipped=1)
PYTEST = SuiteCounts(passed=3, failed=2, errors=0, skipped=1)
"""pytest counts an exception in a test as a failure; unittest as an error."""


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    (tmp_path / "test_suite.py").write_text(SUITE)
    return tmp_path


def _run(argv: list[str], cwd: Path) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    return done.stdout + done.stderr


def test_pytest_summary(suite: Path) -> None:
    output = _run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider"], suite)
    assert parse_pytest(output) == PYTEST


def test_pytest_quiet_summary(suite: Path) -> None:
    output = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], suite)
    assert parse_pytest(output) == PYTEST


def test_unittest_summary(suite: Path) -> None:
    output = _run([sys.executable, "-m", "unittest"], suite)
    assert parse_unittest(output) == UNITTEST


def test_unittest_all_passed(tmp_path: Path) -> None:
    (tmp_path / "test_ok.py").write_text(
        "import unittest\nclass T(unittest.TestCase):\n    def test_a(self): pass\n"
    )
    output = _run([sys.executable, "-m", "unittest"], tmp_path)
    assert parse_unittest(output) == SuiteCounts(passed=1)


def test_junit_report(suite: Path) -> None:
    _run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--junitxml=r.xml"], suite)
    assert parse_junit(suite / "r.xml") == PYTEST


def test_unreadable_reports_give_no_counts(tmp_path: Path) -> None:
    (tmp_path / "bad.xml").write_text("<testsuite><testcase")
    assert parse_junit(tmp_path / "bad.xml") is None
    assert parse_junit(tmp_path / "missing.xml") is None
    assert parse_pytest("no summary here") is None
    assert parse_unittest("Ran 3 tests in 0.1s\n") is None


def test_check_records_counts(suite: Path) -> None:
    python = sys.executable
    check = Check(name="suite", run=f"{python} -m unittest", tests="unittest")
    result = run_check(check, suite)
    assert not result.passed
    assert (result.tests_passed, result.tests_failed, result.tests_skipped) == (3, 2, 1)


def test_check_reads_junit_file(suite: Path) -> None:
    command = f"{sys.executable} -m pytest -q -p no:cacheprovider --junitxml=out/r.xml"
    result = run_check(Check(name="suite", run=command, junit="out/r.xml"), suite)
    assert (result.tests_passed, result.tests_failed, result.tests_skipped) == (3, 2, 1)


def test_check_without_report_says_so(tmp_path: Path) -> None:
    result = run_check(Check(name="none", run="true", junit="nothing.xml"), tmp_path)
    assert result.passed and result.tests_passed is None
    assert "no test report" in result.output


@pytest.mark.parametrize("path", ["../escape.xml", "/etc/passwd", "a/../../b.xml"])
def test_junit_path_must_stay_in_workspace(path: str) -> None:
    with pytest.raises(ValueError, match="inside the workspace"):
        Check(name="x", run="true", junit=path)
