"""The task library: every task validates; each bundled sample's checks judge for real.

For each bundled sample, the checks run twice on a real workspace: on the untouched
repository (what the agent must do fails, what already works passes), and after a
reference solution is applied (everything passes).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from benchlab.checks import run_checks
from benchlab.config import find_task, load_task
from benchlab.config.load import load_tasks
from benchlab.config.tasks import Archetype
from benchlab.workspace import prepare_workspace

TASKS = Path(__file__).resolve().parents[2] / "tasks"

UNTOUCHED: dict[str, dict[str, bool]] = {
    "sample": {"existing tests": True, "divide works": False},
    "sample-feature": {
        "existing tests": True,
        "compiles": True,
        "low_stock works": False,
        "has a test": False,
    },
    "sample-maintenance": {
        "tests": False,
        "lint": False,
        "compiles": True,
        "tests and lint unchanged": True,
    },
    "sample-plan": {
        "plan exists": False,
        "plan sections": False,
        "plan names the modules": False,
        "code unchanged": True,
        "existing tests": True,
    },
    "sample-research": {
        "report exists": False,
        "report sections": False,
        "comparison table": False,
        "names both formats": False,
        "code unchanged": True,
    },
}
"""Each bundled sample's check results on its repository as it is."""

REAL_WORLD = {
    "uv-migrate-rich",
    "add-tests-cachetools",
    "api-endpoints-flask-tutorial",
    "plan-requests",
    "compare-flake8-vs-ruff",
}


def _divide(ws: Path) -> None:
    calc = ws / "calc.py"
    body = '\n\ndef divide(a: float, b: float) -> float:\n    """Return a / b."""\n'
    body += '    if b == 0:\n        raise ValueError("b is 0")\n    return a / b\n'
    calc.write_text(calc.read_text() + body)


def _low_stock(ws: Path) -> None:
    module = ws / "inventory.py"
    method = (
        '\n    def low_stock(self, threshold: int) -> list[str]:\n        """Below threshold."""\n'
    )
    method += "        return sorted(n for n, q in self._items.items() if q < threshold)\n"
    module.write_text(module.read_text() + method)
    tests = ws / "test_inventory.py"
    test = "\n\nclass LowStockTest(unittest.TestCase):\n    def test_low_stock(self) -> None:\n"
    test += "        stock = Inventory()\n        stock.add('a', 1)\n"
    test += "        self.assertEqual(stock.low_stock(2), ['a'])\n"
    text = tests.read_text().replace('\n\nif __name__ == "__main__":\n    unittest.main()\n', "")
    tests.write_text(text + test)


def _fix_textstats(ws: Path) -> None:
    module = ws / "textstats.py"
    text = module.read_text().replace('text.split(" ")', "text.split()")
    text = text.replace(
        "    return sum(len(word) for word in found) / len(found) \n",
        "    if not found:\n        return 0.0\n"
        "    return sum(len(w) for w in found) / len(found)\n",
    )
    text = text.replace(
        '    """The mean length of the words of ``text``; 0.0 for a text without words."""',
        '    """The mean word length of ``text``; 0.0 for a text without words."""',
    )
    text = text.replace(
        '    """The longest word of ``text`` (the first one if several are as long), '
        'or an empty string."""',
        '    """The first longest word of ``text``, or an empty string."""',
    )
    module.write_text(text)


def _plan(ws: Path) -> None:
    (ws / "docs").mkdir()
    (ws / "docs" / "PLAN.md").write_text(
        "# Plan\n\n## Context\nOne cart in cart.json.\n\n## Design\n"
        "storage.py moves to SQLite; cart.py gains a customer id; api.py takes it.\n\n"
        "## Steps\n1. Schema.\n\n## Risks\nConcurrent writes.\n"
    )


def _research(ws: Path) -> None:
    (ws / "RESEARCH.md").write_text(
        "# Config format\n\n## Options\nJSON or TOML.\n\n## Comparison\n\n"
        "| criterion | JSON | TOML |\n|---|---|---|\n| comments | no | yes |\n\n"
        "## Recommendation\nTOML.\n"
    )


SOLUTIONS: dict[str, Callable[[Path], None]] = {
    "sample": _divide,
    "sample-feature": _low_stock,
    "sample-maintenance": _fix_textstats,
    "sample-plan": _plan,
    "sample-research": _research,
}
"""A minimal reference solution of each bundled sample."""


def test_every_task_loads_and_the_library_covers_every_archetype() -> None:
    tasks = load_tasks(TASKS)
    assert set(UNTOUCHED) | REAL_WORLD <= set(tasks)
    bundled = [tasks[name] for name in UNTOUCHED]
    assert {t.archetype for t in bundled} == set(Archetype)
    for task in bundled:
        assert task.repository.path is not None and task.guidelines and task.checks
        assert 6 <= task.limits.max_turns <= 8 and task.limits.timeout_s == 600
        assert 1200 <= task.limits.max_output_tokens <= 2000
    for name in REAL_WORLD:
        task = tasks[name]
        assert task.repository.url is not None and task.repository.url.startswith("https://")
        assert task.repository.ref not in ("HEAD", "main", "master"), "a pinned tag"
        assert task.checks and task.guidelines


def test_real_world_tasks_span_the_archetypes() -> None:
    archetypes = {find_task(TASKS, name).archetype for name in REAL_WORLD}
    assert archetypes == set(Archetype)


@pytest.mark.parametrize("name", sorted(UNTOUCHED))
def test_bundled_sample_checks_fail_untouched_and_pass_solved(name: str, tmp_path: Path) -> None:
    task = load_task(TASKS / f"{name}.yaml")
    assert [c.name for c in task.checks] == list(UNTOUCHED[name])

    untouched = prepare_workspace(task, TASKS, parent=tmp_path)
    try:
        results = run_checks(task.checks, untouched.path)
    finally:
        untouched.remove()
    assert {r.name: r.passed for r in results} == UNTOUCHED[name], [r.output for r in results]

    solved = prepare_workspace(task, TASKS, parent=tmp_path)
    try:
        SOLUTIONS[name](solved.path)
        results = run_checks(task.checks, solved.path)
    finally:
        solved.remove()
    failed = {r.name: r.output for r in results if not r.passed}
    assert failed == {}
