"""Running ``benchlab`` as a user does: a real subprocess, its output and exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def benchlab(
    *args: str,
    cwd: Path = REPO,
    env: dict[str, str] | None = None,
    unset: Iterable[str] = (),
    timeout_s: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m benchlab ARGS`` with the test's environment on top of this one's."""
    full_env = {
        **os.environ,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "COLUMNS": "200",
        **(env or {}),
    }
    for name in unset:
        full_env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "benchlab", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
