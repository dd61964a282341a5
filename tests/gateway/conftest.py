"""The scripted OpenAI-protocol upstream the gateway's rule tests run against."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.gateway.fake_openai import Script, fake_openai


@pytest.fixture
def fake() -> Iterator[tuple[str, Script]]:
    """A running scripted upstream: its base URL and its script."""
    with fake_openai() as running:
        yield running
