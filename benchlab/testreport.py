"""Test counts from a check's own report: a JUnit XML file or a pytest/unittest summary.

A check that runs a test suite says more than its exit code: how many tests passed
and failed. Both parsers are lenient: a report that cannot be read gives no counts
(and a note), never an exception.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

_ITEM = r"\d+ (?:subtests? )?[a-z]+"
PYTEST_SUMMARY = re.compile(
    rf"^=* ?(?P<body>{_ITEM}(?:, {_ITEM})*|no tests ran)"
    r"(?: in [\d.]+s(?: \([\d:]+\))?)?(?: =+)?\s*$",
    re.MULTILINE,
)
"""pytest's final line, in every mode: ``=== 3 passed, 1 failed in 0.12s ===`` (default,
``-v``, ``-rA``), ``3 passed, 1 failed, 2 subtests passed in 0.12s`` (``-q``), with
warnings, errors, deselected, xfailed/xpassed, reruns and ``(0:01:01)`` for long runs."""
PYTEST_COUNT = re.compile(r"(\d+) ((?:subtests? )?[a-z]+)")
UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in [\d.]+s", re.MULTILINE)
UNITTEST_RESULT = re.compile(r"^(OK|FAILED)(?: \((?P<body>[^)]*)\))?\s*$", re.MULTILINE)
UNITTEST_FAILURE = re.compile(
    r"^(?P<kind>FAIL|ERROR): (?P<name>\S+) \((?P<id>[^)]*)\)", re.MULTILINE
)
"""A failure's header; with ``subTest`` one test has one header per failing subtest,
its parameters in a second pair of brackets."""


@dataclass(frozen=True)
class SuiteCounts:
    """How many tests a check ran, and how they ended."""

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    subtests_passed: int = 0
    """Subtests (pytest's ``subtests`` fixture, unittest's ``subTest``) reported passed;
    not tests, so not in :attr:`total`."""

    @property
    def total(self) -> int:
        """All tests that ran or were skipped."""
        return self.passed + self.failed + self.errors + self.skipped


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
"""Terminal colour codes: a runner forced to colour (``PY_COLORS=1``) wraps its counts."""


def parse_pytest(output: str) -> SuiteCounts | None:
    """Counts from pytest's final summary line, in any of its forms (see PYTEST_SUMMARY).

    ``-qq`` prints no summary: None (a check that wants counts then relies on the JUnit
    report benchlab asks pytest for).
    """
    matches = list(PYTEST_SUMMARY.finditer(ANSI.sub("", output)))
    if not matches:
        return None
    counts: dict[str, int] = {}
    for number, kind in PYTEST_COUNT.findall(matches[-1].group("body")):
        counts[kind] = counts.get(kind, 0) + int(number)
    return SuiteCounts(
        passed=counts.get("passed", 0) + counts.get("xpassed", 0),
        failed=counts.get("failed", 0),
        errors=counts.get("error", 0) + counts.get("errors", 0),
        skipped=counts.get("skipped", 0) + counts.get("xfailed", 0),
        subtests_passed=counts.get("subtests passed", 0) + counts.get("subtest passed", 0),
    )


def parse_unittest(output: str) -> SuiteCounts | None:
    """Counts from unittest's ``Ran N tests`` and ``OK``/``FAILED (failures=1)`` lines.

    With ``subTest``, ``failures=`` counts failing subtests, not tests: a test is counted
    failed once however many of its subtests failed (from the failure headers).
    """
    output = ANSI.sub("", output)
    ran = UNITTEST_RAN.findall(output)
    results = list(UNITTEST_RESULT.finditer(output))
    if not ran or not results:
        return None
    details: dict[str, int] = {}
    for part in (results[-1].group("body") or "").split(","):
        key, _, value = part.strip().partition("=")
        if value.isdigit():
            details[key] = int(value)
    failing: dict[str, set[str]] = {"FAIL": set(), "ERROR": set()}
    for found in UNITTEST_FAILURE.finditer(output):
        failing[found.group("kind")].add(found.group("id"))
    # A test with a failing and an erroring subtest counts once, as failed.
    failing["ERROR"] -= failing["FAIL"]
    if failing["FAIL"] or failing["ERROR"]:
        failed, errors = len(failing["FAIL"]), len(failing["ERROR"])
    else:
        failed, errors = details.get("failures", 0), details.get("errors", 0)
    failed += details.get("unexpected successes", 0)
    skipped = details.get("skipped", 0) + details.get("expected failures", 0)
    passed = int(ran[-1]) - failed - errors - skipped
    return SuiteCounts(passed=max(passed, 0), failed=failed, errors=errors, skipped=skipped)


def parse_junit(path: Path) -> SuiteCounts | None:
    """Counts from a JUnit XML report (``<testsuites>`` or a single ``<testsuite>``)."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    failed = errors = skipped = total = 0
    for case in root.iter("testcase"):
        total += 1
        if case.find("failure") is not None:
            failed += 1
        elif case.find("error") is not None:
            errors += 1
        elif case.find("skipped") is not None:
            skipped += 1
    if total == 0 and root.tag not in ("testsuite", "testsuites"):
        return None
    return SuiteCounts(
        passed=total - failed - errors - skipped, failed=failed, errors=errors, skipped=skipped
    )
