"""llama-server's own token counters (``/metrics``, Prometheus text format).

They are an account of tokens kept by the server itself, independent of what the
gateway recorded, so a trial can be checked against them.
"""

from __future__ import annotations

import httpx

from benchlab.errors import EngineError

PROMPT = "llamacpp:prompt_tokens_total"
PREDICTED = "llamacpp:tokens_predicted_total"


def read_counters(base_url: str, timeout_s: float = 10.0) -> dict[str, float]:
    """The server's counters by name; needs the server started with ``--metrics``."""
    try:
        response = httpx.get(f"{base_url.rstrip('/')}/metrics", timeout=timeout_s)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise EngineError(f"cannot read {base_url}/metrics: {exc}") from None
    counters: dict[str, float] = {}
    for line in response.text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition(" ")
        try:
            counters[name] = float(value.split()[0])
        except (ValueError, IndexError):
            continue
    return counters


def token_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, int]:
    """Prompt tokens processed and tokens generated between two readings."""
    return {
        "prompt_tokens": round(after.get(PROMPT, 0) - before.get(PROMPT, 0)),
        "predicted_tokens": round(after.get(PREDICTED, 0) - before.get(PREDICTED, 0)),
    }
