"""The real pi, installed from npm once into the shared test cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchlab.agents.pi import PiHarness

CACHE_ROOT = Path("/tmp/benchlab-test-cache")
"""Shared across sessions: pi lands in ``agents/pi/<version>`` under it."""


@pytest.fixture(scope="session")
def pi() -> PiHarness:
    """pi at the default pinned version, installed (or found installed)."""
    harness = PiHarness()
    harness.install(CACHE_ROOT)
    return harness
