"""The speed probe against the real small model: figures from the server's timings."""

from __future__ import annotations

import pytest

from benchlab.engine import LlamaServer
from benchlab.engine.probe import ProbeSettings, Stat, run_probe
from benchlab.errors import EngineError


def test_probe_measures_pp_tg_and_ttft(llama_server: LlamaServer) -> None:
    settings = ProbeSettings(prompt_tokens=64, gen_tokens=8, repeats=2, warmup=False)
    result = run_probe(llama_server.base_url, settings)
    for stat in (result.pp_tokens_per_s, result.tg_tokens_per_s, result.ttft_s):
        assert len(stat.values) == 2 and stat.mean > 0 and stat.stddev >= 0
    # Speeds are compared in bench/probe.py, not asserted here: on a loaded machine
    # any ordering of timings can flip.
    assert result.ttft_s.mean > 0
    assert set(result.metrics()) == {
        f"probe.{name}{suffix}"
        for name in ("pp_tps", "tg_tps", "ttft_s")
        for suffix in ("", ".std")
    }


def test_stat() -> None:
    stat = Stat.of([1.0, 3.0])
    assert (stat.mean, stat.stddev, stat.values) == (
        2.0,
        pytest.approx(1.4142, abs=1e-4),
        (1.0, 3.0),
    )
    assert Stat.of([5.0]).stddev == 0.0


def test_unreachable_prompt_size_is_an_engine_error(llama_server: LlamaServer) -> None:
    # More prompt tokens than a slot's context: the server refuses, the probe says so.
    with pytest.raises(EngineError, match="refused a probe request"):
        run_probe(llama_server.base_url, ProbeSettings(prompt_tokens=9000, gen_tokens=1, repeats=1))
