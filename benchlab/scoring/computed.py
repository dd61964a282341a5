"""Criteria computed from records rather than judged: determinism and reproducibility."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from typing import Any

from benchlab.scoring.score import Score

COMPUTED_VERSION = "computed-1"
"""Version of the computations below; bump it when their definition changes."""

DIFF_FILE = re.compile(r"^diff --git a/(\S+) b/(\S+)", re.MULTILINE)


def determinism(record: dict[str, Any]) -> Score:
    """The share of the record's checks that passed (0-1), from the recorded outcomes."""
    checks = (record.get("outputs") or {}).get("checks") or []
    if not checks:
        return Score.unscored("determinism", "checks", COMPUTED_VERSION, "no checks recorded")
    passed = [c for c in checks if c.get("passed") is True]
    failed = [f"{c.get('name')} (exit {c.get('exit_code')})" for c in checks if c not in passed]
    rationale = f"{len(passed)}/{len(checks)} checks passed"
    if failed:
        rationale += "; failed: " + ", ".join(failed)
    return Score(
        criterion="determinism",
        value=len(passed) / len(checks),
        rationale=rationale,
        judge="checks",
        judge_version=COMPUTED_VERSION,
    )


def changed_files(diff: str) -> frozenset[str]:
    """The paths a unified diff touches (both sides of a rename)."""
    return frozenset(itertools.chain.from_iterable(DIFF_FILE.findall(diff)))


def _outcome(record: dict[str, Any]) -> tuple[tuple[str, bool], ...]:
    checks = (record.get("outputs") or {}).get("checks") or []
    return tuple(sorted((str(c.get("name")), c.get("passed") is True) for c in checks))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return 1.0 if not a and not b else len(a & b) / len(a | b)


def reproducibility(records: list[dict[str, Any]]) -> Score:
    """How consistent repeats of one configuration and task are (0-1).

    The mean of two shares: the repeats whose check outcomes equal the most common
    outcome, and the mean pairwise overlap (Jaccard) of the files their diffs change.

    Args:
        records: Curated records of the same cell and task, one per repeat.
    """
    if len(records) < 2:
        return Score.unscored(
            "reproducibility", "repeats", COMPUTED_VERSION, "needs at least two repeats"
        )
    outcomes = Counter(_outcome(r) for r in records)
    outcome_share = outcomes.most_common(1)[0][1] / len(records)
    files = [changed_files(str((r.get("outputs") or {}).get("diff") or "")) for r in records]
    pairs = list(itertools.combinations(files, 2))
    file_overlap = sum(_jaccard(a, b) for a, b in pairs) / len(pairs)
    return Score(
        criterion="reproducibility",
        value=(outcome_share + file_overlap) / 2,
        rationale=(
            f"{len(records)} repeats: {outcome_share:.0%} share the most common check outcome, "
            f"changed files overlap {file_overlap:.0%} on average"
        ),
        judge="repeats",
        judge_version=COMPUTED_VERSION,
    )


def reproducibility_by_group(records: list[dict[str, Any]]) -> dict[tuple[str, str], Score]:
    """Reproducibility for each (cell, task) among ``records``."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in records:
        key = (str(record["tags"].get("cell", "")), str(record["inputs"].get("task", "")))
        groups.setdefault(key, []).append(record)
    return {key: reproducibility(group) for key, group in groups.items()}
