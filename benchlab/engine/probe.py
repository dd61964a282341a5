"""Speed probe of a running llama-server, like llama-bench's pp and tg tests.

Prompt processing: a prompt of exactly N tokens (token ids, so no template or
tokenizer changes the count), one token generated, the prompt cache off so every
repeat processes the whole prompt. Generation: a one-token prompt and M tokens
generated with end-of-sequence ignored. The figures are the server's own ``timings``;
time to first token is measured by the client on the streamed prompt test.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import httpx
from pydantic import Field

from benchlab.config.base import Frozen
from benchlab.errors import EngineError
from benchlab.results import Record

# Ordinary prose: tokenizes into ordinary tokens, as a real prompt would.
FILLER = (
    "The quick brown fox jumps over the lazy dog while the engineer reads the logs, "
    "counts the failing tests, and writes a careful note about what changed and why. "
)

# Greedy choice with the shortest sampler chain: the probe measures the engine, and
# llama-bench, which it is compared with, samples nothing at all.
GREEDY: dict[str, Any] = {"samplers": ["top_k"], "top_k": 1, "temperature": 0}


class ProbeSettings(Frozen):
    """How the speed probe runs."""

    prompt_tokens: int = Field(default=512, ge=1)
    """Prompt length N of the prompt-processing test (llama-bench ``-p``)."""

    gen_tokens: int = Field(default=128, ge=1)
    """Tokens M generated in the generation test (llama-bench ``-n``)."""

    repeats: int = Field(default=5, ge=1)
    """Measured repetitions of each test (llama-bench ``-r``)."""

    warmup: bool = True
    """Run each test once, unmeasured, before the repetitions."""

    timeout_s: float = Field(default=600, gt=0)
    """Time allowed for one request."""


class Stat(Record):
    """Mean and sample standard deviation of repeated measurements."""

    mean: float
    """Arithmetic mean."""

    stddev: float
    """Sample standard deviation; 0 for one value."""

    values: tuple[float, ...]
    """The measurements, in order."""

    @classmethod
    def of(cls, values: list[float]) -> Stat:
        """The statistics of ``values`` (at least one)."""
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return cls(mean=statistics.fmean(values), stddev=spread, values=tuple(values))


class ProbeResult(Record):
    """What the speed probe measured on one server."""

    settings: ProbeSettings
    """How it ran."""

    pp_tokens_per_s: Stat
    """Prompt processing speed for the N-token prompt."""

    tg_tokens_per_s: Stat
    """Generation speed over M tokens."""

    ttft_s: Stat
    """Client-side time to the first streamed token of the N-token prompt."""

    def metrics(self) -> dict[str, float]:
        """Flat metric names and values, for MLflow."""
        out: dict[str, float] = {}
        for name, stat in (
            ("probe.pp_tps", self.pp_tokens_per_s),
            ("probe.tg_tps", self.tg_tokens_per_s),
            ("probe.ttft_s", self.ttft_s),
        ):
            out[name], out[f"{name}.std"] = stat.mean, stat.stddev
        return out


def _check(answer: httpx.Response) -> None:
    if answer.status_code != 200:
        text = answer.read().decode(errors="replace")[:500]
        raise EngineError(f"llama-server refused a probe request ({answer.status_code}): {text}")


def _prompt_ids(client: httpx.Client, base_url: str, n: int) -> list[int]:
    answer = client.post(f"{base_url}/tokenize", json={"content": FILLER * 4})
    _check(answer)
    tokens = [int(t) for t in answer.json()["tokens"]]
    if not tokens:
        raise EngineError("llama-server /tokenize returned no tokens")
    return (tokens * (n // len(tokens) + 1))[:n]


def _pp_once(client: httpx.Client, base_url: str, prompt: list[int]) -> tuple[float, float]:
    """One prompt-processing run: (server's prompt tokens/s, client's time to first token)."""
    body = {"prompt": prompt, "n_predict": 1, "cache_prompt": False, "stream": True, **GREEDY}
    started = time.perf_counter()
    ttft: float | None = None
    timings: dict[str, Any] = {}
    # llama-server closes its side after a stream; not reusing the connection keeps the
    # next request from racing with that close.
    headers = {"connection": "close"}
    with client.stream("POST", f"{base_url}/completion", json=body, headers=headers) as answer:
        _check(answer)
        for line in answer.iter_lines():
            if not line.startswith("data: "):
                continue
            if ttft is None:
                ttft = time.perf_counter() - started
            chunk = json.loads(line[6:])
            timings = chunk.get("timings") or timings
    if ttft is None or int(timings.get("prompt_n", -1)) != len(prompt):
        raise EngineError(
            f"the probe asked for {len(prompt)} prompt tokens; the server processed "
            f"{timings.get('prompt_n')} (is the prompt cache in the way?)"
        )
    return float(timings["prompt_per_second"]), ttft


def _tg_once(client: httpx.Client, base_url: str, prompt: list[int], n: int) -> float:
    """One generation run: the server's generated tokens/s."""
    body = {"prompt": prompt, "n_predict": n, "cache_prompt": False, "ignore_eos": True, **GREEDY}
    answer = client.post(f"{base_url}/completion", json=body)
    _check(answer)
    timings = answer.json().get("timings") or {}
    if int(timings.get("predicted_n", -1)) != n:
        raise EngineError(f"the probe asked for {n} tokens; the server made {timings}")
    return float(timings["predicted_per_second"])


def run_probe(base_url: str, settings: ProbeSettings | None = None) -> ProbeResult:
    """Measure prompt processing, generation and time to first token on one server.

    Args:
        base_url: The server's root URL (``http://host:port``, not ``.../v1``).
        settings: Test sizes and repetitions; the defaults match llama-bench's.

    Returns:
        The mean and standard deviation of each figure over the repetitions.

    Raises:
        EngineError: When the server refuses a request or does not process the asked
            number of tokens.
        httpx.HTTPError: When the server cannot be reached.
    """
    settings = settings or ProbeSettings()
    base_url = base_url.rstrip("/")
    with httpx.Client(timeout=settings.timeout_s) as client:
        prompt = _prompt_ids(client, base_url, settings.prompt_tokens)
        one = prompt[:1]
        if settings.warmup:
            _pp_once(client, base_url, prompt)
            _tg_once(client, base_url, one, settings.gen_tokens)
        pp, ttft = zip(
            *(_pp_once(client, base_url, prompt) for _ in range(settings.repeats)), strict=True
        )
        tg = [_tg_once(client, base_url, one, settings.gen_tokens) for _ in range(settings.repeats)]
    return ProbeResult(
        settings=settings,
        pp_tokens_per_s=Stat.of(list(pp)),
        tg_tokens_per_s=Stat.of(tg),
        ttft_s=Stat.of(list(ttft)),
    )
