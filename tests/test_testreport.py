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


MIX = """
import warnings
import pytest

def test_ok(): pass
def test_ok2(): pass
def test_ok3(): pass
def test_fail(): assert False
@pytest.mark.skip(reason="no")
def test_skip(): pass
@pytest.mark.xfail
def test_xfail(): assert False
@pytest.mark.xfail
def test_xpass(): pass
@pytest.fixture
def broken(): raise RuntimeError("x")
def test_error(broken): pass
def test_warn(): warnings.warn("careful")
def test_deselected(): pass
"""
MIX_COUNTS = SuiteCounts(passed=5, failed=1, errors=1, skipped=2)
"""ok x3, warn and xpass pass; fail fails; the broken fixture errors; skip and xfail are
skipped; the deselected test is not counted."""

SUBTESTS = """
def test_many(subtests):
    for i in range(4):
        with subtests.test(i=i):
            assert i >= 0
def test_plain(): pass
"""

UNITTEST_SUBTESTS = """
import unittest

class T(unittest.TestCase):
    def test_a(self): pass
    def test_sub(self):
        for i in range(4):
            with self.subTest(i=i):
                self.assertNotIn(i, (1, 2))
    def test_sub_ok(self):
        for i in range(3):
            with self.subTest(i=i):
                self.assertGreaterEqual(i, 0)
    @unittest.skip("s")
    def test_s(self): pass
    @unittest.expectedFailure
    def test_xf(self): self.fail()
    def test_err(self): raise RuntimeError()
"""

MODES = [[], ["-q"], ["-v"], ["-rA"], ["-p", "no:warnings"], ["-q", "--tb=no", "-rfE"]]


@pytest.fixture(scope="module")
def pytest8(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Python with pytest 8, in a venv of its own (pytest 9 is the project's)."""
    import shutil

    uv = shutil.which("uv") or str(Path.home() / ".local/bin/uv")
    venv = tmp_path_factory.mktemp("pytest8") / "venv"
    made = subprocess.run(
        f"{uv} venv -q {venv} -p {sys.executable} && "
        f"{uv} pip install -q -p {venv}/bin/python 'pytest>=8,<9'",
        shell=True, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if made.returncode != 0:
        pytest.skip(f"needs pytest 8 from PyPI in a venv: {made.stderr.strip()[-300:]}")
    return str(venv / "bin" / "python")


def _pythons(pytest8: str) -> dict[str, str]:
    return {"pytest 9": sys.executable, "pytest 8": pytest8}


@pytest.mark.parametrize("mode", MODES, ids=lambda m: " ".join(m) or "default")
@pytest.mark.parametrize("version", ["pytest 9", "pytest 8"])
def test_every_pytest_summary_form(
    tmp_path: Path, mode: list[str], version: str, pytest8: str
) -> None:
    python = _pythons(pytest8)[version]
    (tmp_path / "test_mix.py").write_text(MIX)
    argv = [python, "-m", "pytest", "-p", "no:cacheprovider", "-k", "not deselected", *mode]
    output = _run(argv, tmp_path)
    assert version.split()[1] in _run([python, "-m", "pytest", "--version"], tmp_path)
    assert "1 deselected" in output and "1 xpassed" in output, output[-500:]
    assert parse_pytest(output) == MIX_COUNTS, output[-800:]


def test_pytest_qq_prints_no_summary_but_the_check_counts_from_junit(tmp_path: Path) -> None:
    (tmp_path / "test_mix.py").write_text(MIX)
    argv = [sys.executable, "-m", "pytest", "-qq", "-p", "no:cacheprovider"]
    output = _run([*argv, "-k", "not deselected"], tmp_path)
    command = " ".join(argv) + " -k 'not deselected'"
    assert parse_pytest(output) is None  # nothing to read in the output itself
    check = Check(name="tests", run=command, tests="pytest")
    result = run_check(check, tmp_path, log_path=tmp_path / "logs" / "00-tests.log")
    assert (result.tests_passed, result.tests_failed, result.tests_skipped) == (5, 2, 2)
    assert result.tests_source == "pytest junit"
    assert "[benchlab: test counts from pytest junit]" in result.output


def test_pytest9_subtests_are_counted_apart(tmp_path: Path) -> None:
    (tmp_path / "test_sub.py").write_text(SUBTESTS)
    output = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], tmp_path)
    assert "4 subtests passed" in output, output[-500:]
    assert parse_pytest(output) == SuiteCounts(passed=2, subtests_passed=4)
    # The form the summary takes on a large suite.
    line = "765 passed, 21194 subtests passed in 21.02s"
    assert parse_pytest(line) == SuiteCounts(passed=765, subtests_passed=21194)
    assert parse_pytest("= 3 passed, 1 rerun in 61.20s (0:01:01) =") == SuiteCounts(passed=3)
    assert parse_pytest("==== no tests ran in 0.01s ====") == SuiteCounts()


@pytest.mark.parametrize("mode", [[], ["-v"], ["-q"]], ids=["default", "-v", "-q"])
def test_unittest_subtests_count_tests_not_failing_subtests(
    tmp_path: Path, mode: list[str]
) -> None:
    (tmp_path / "test_ut.py").write_text(UNITTEST_SUBTESTS)
    output = _run([sys.executable, "-m", "unittest", *mode], tmp_path)
    assert "failures=2" in output, output[-500:]  # two subtests of one test failed
    assert parse_unittest(output) == SuiteCounts(passed=2, failed=1, errors=1, skipped=2)


def test_a_pytest_check_says_where_its_counts_came_from(tmp_path: Path) -> None:
    (tmp_path / "test_mix.py").write_text(MIX)
    run = f"{sys.executable} -m pytest -v -p no:cacheprovider -k 'not deselected'"
    check = Check(name="tests", run=run, tests="pytest")
    without_log = run_check(check, tmp_path)
    assert without_log.tests_source == "pytest summary"
    assert (without_log.tests_passed, without_log.tests_failed) == (5, 2)
    with_log = run_check(check, tmp_path, log_path=tmp_path / "logs" / "t.log")
    assert with_log.tests_source == "pytest junit"
    assert (with_log.tests_passed, with_log.tests_failed, with_log.tests_skipped) == (5, 2, 2)


def test_forced_colour_does_not_hide_the_counts(tmp_path: Path) -> None:
    import os

    (tmp_path / "test_mix.py").write_text(MIX)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-k", "not deselected"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
        env={**os.environ, "PY_COLORS": "1"},
    )  # fmt: skip
    assert "\x1b[" in done.stdout
    assert parse_pytest(done.stdout) == MIX_COUNTS


def test_a_log_path_with_spaces_still_gets_its_junit_report(tmp_path: Path) -> None:
    (tmp_path / "test_mix.py").write_text(MIX)
    run = f"{sys.executable} -m pytest -qq -p no:cacheprovider -k 'not deselected'"
    check = Check(name="tests", run=run, tests="pytest")
    result = run_check(check, tmp_path, log_path=tmp_path / "log dir" / "00 tests.log")
    assert result.tests_source == "pytest junit" and result.tests_passed == 5
