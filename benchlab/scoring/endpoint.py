"""The judge model: any OpenAI-compatible endpoint, as a DSPy LM."""

from __future__ import annotations

import dspy
from pydantic import Field, SecretStr

from benchlab.config.base import Frozen


class JudgeEndpoint(Frozen):
    """Where the judge model answers and how it is called."""

    base_url: str
    """OpenAI-compatible base URL, e.g. ``http://127.0.0.1:8080/v1``."""

    model: str
    """Model name sent to the endpoint."""

    api_key: SecretStr | None = None
    """API key for the endpoint; local servers need none."""

    timeout_s: float = Field(default=120.0, gt=0)
    """Seconds one judge call may take before it counts as could-not-score."""

    parallelism: int = Field(default=2, ge=1)
    """Judge calls in flight at once."""

    max_tokens: int = Field(default=512, ge=16)
    """Output tokens per judge call."""

    temperature: float = Field(default=0.0, ge=0.0)
    """Sampling temperature; 0 makes judgments repeatable."""

    max_rationale_chars: int = Field(default=400, ge=8)
    """Longest rationale the endpoint may write (enforced by the JSON schema)."""

    max_input_chars: int = Field(default=6000, ge=100)
    """Longest diff, transcript or answer sent to the judge; longer ones are cut."""


def judge_lm(endpoint: JudgeEndpoint) -> dspy.LM:
    """A DSPy LM for the endpoint: no response cache, no retries (a failure is reported)."""
    key = endpoint.api_key.get_secret_value() if endpoint.api_key else "not-needed"
    return dspy.LM(
        f"openai/{endpoint.model}",
        api_base=endpoint.base_url,
        api_key=key,
        timeout=endpoint.timeout_s,
        max_tokens=endpoint.max_tokens,
        temperature=endpoint.temperature,
        cache=False,
        num_retries=0,
    )
