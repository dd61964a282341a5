"""``benchlab check`` as a user runs it, asserting how a refusal looks on the terminal."""

from __future__ import annotations

from pathlib import Path

from benchlab.errors import ConfigError
from tests.run_cli import benchlab


def check_refused(config: Path, tasks_dir: Path, caught: ConfigError) -> None:
    """``benchlab check`` exits 2 and prints exactly the problems of ``caught``, one a line."""
    # The generated tasks' local repository (`path: repo`): check looks for it.
    if tasks_dir.is_dir():
        (tasks_dir / "repo").mkdir(exist_ok=True)
    done = benchlab("check", "--config", str(config), "--tasks-dir", str(tasks_dir))
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stderr.splitlines() == [str(p) for p in caught.problems]
    assert done.stdout == ""
