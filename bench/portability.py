"""What the portable llama-server build costs: the same probe and llama-bench on two builds.

Starts one llama-server of each build with the small test model (gemma-3-270m Q4_K_M)
and the same flags, both loaded at once (an idle server costs no CPU), then for each
repetition runs benchlab's speed probe and one ``llama-bench`` repetition (the binary
beside each llama-server) on build A, then on build B, so load from elsewhere hits both
alike. Prints pp and tg tokens/s of each build by each measure and the ratio A / B.

Usage: ``uv run --frozen python bench/portability.py --against /path/to/native/llama-server
[--binary PATH] [--pp 512] [--tg 128] [--repeats 5] [--threads 2]``
(``--binary`` defaults to the llama-server benchlab finds: the packaged portable build).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from contextlib import ExitStack
from pathlib import Path

# The model file and the table cells are bench/probe.py's (this folder is on the path
# when a script here runs).
from probe import mean_sd, ratio, small_gguf

from benchlab.config.models import EngineConfig
from benchlab.engine import TOOLS_TEMPLATE, LlamaServer, find_llama_server
from benchlab.engine.build import describe_build
from benchlab.engine.probe import ProbeSettings, run_probe


def _llama_bench(
    binary: Path, gguf: Path, engine: EngineConfig, pp: int, tg: int
) -> dict[str, float]:
    """One repetition of llama-bench's pp and tg tests with the server's flags."""
    argv = [
        str(binary.parent / "llama-bench"),
        "-m", str(gguf), "-p", str(pp), "-n", str(tg), "-r", "1",
        "-t", str(engine.threads), "-b", str(engine.batch_size), "-ub", str(engine.ubatch_size),
        "-fa", engine.flash_attn, "-ctk", engine.cache_type_k, "-ctv", engine.cache_type_v,
        "-o", "json",
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return {
        ("pp" if row["n_prompt"] else "tg"): float(row["avg_ts"]) for row in json.loads(done.stdout)
    }


def main() -> None:
    """Run both builds side by side and print a markdown table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--against", type=Path, required=True, help="build B's llama-server")
    parser.add_argument("--binary", type=Path, default=None, help="build A's llama-server")
    parser.add_argument("--pp", type=int, default=512)
    parser.add_argument("--tg", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    builds = {"A": args.binary or find_llama_server(), "B": args.against}
    gguf = small_gguf()
    engine = EngineConfig(
        ctx_size=2048, parallel=1, threads=args.threads, threads_batch=args.threads
    )
    one = ProbeSettings(prompt_tokens=args.pp, gen_tokens=args.tg, repeats=1, warmup=False)
    for name, binary in builds.items():
        print(f"build {name}: {describe_build(binary).label()} ({binary})")
    got: dict[tuple[str, str, str], list[float]] = {
        (name, side, what): []
        for name in builds
        for side in ("probe", "bench")
        for what in ("pp", "tg")
    }
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        servers = {
            name: stack.enter_context(
                LlamaServer(
                    binary,
                    gguf,
                    alias=f"build-{name}",
                    engine=engine,
                    model_context_size=2048,
                    chat_template_file=TOOLS_TEMPLATE,
                    log_path=Path(tmp) / f"server-{name}.log",
                )
            )
            for name, binary in builds.items()
        }
        for server in servers.values():  # one warm-up each, not measured
            run_probe(server.base_url, one.model_copy(update={"warmup": True}))
        for _ in range(args.repeats):
            for name, binary in builds.items():
                probe = run_probe(servers[name].base_url, one)
                got[name, "probe", "pp"].append(probe.pp_tokens_per_s.mean)
                got[name, "probe", "tg"].append(probe.tg_tokens_per_s.mean)
                bench = _llama_bench(binary, gguf, engine, args.pp, args.tg)
                got[name, "bench", "pp"].append(bench["pp"])
                got[name, "bench", "tg"].append(bench["tg"])
    print(
        f"\npp{args.pp}, tg{args.tg}, {args.threads} threads, {args.repeats} interleaved repeats;"
    )
    print("tokens/s, mean ± stddev; ratio = A / B: of the means (median of the paired ratios)\n")
    print("| measure | test | A t/s | B t/s | A / B |")
    print("|---|---|---:|---:|---:|")
    for side, label in (("probe", "benchlab probe"), ("bench", "llama-bench")):
        for what in ("pp", "tg"):
            a, b = got["A", side, what], got["B", side, what]
            print(f"| {label} | {what} | {mean_sd(a)} | {mean_sd(b)} | {ratio(a, b)} |")


if __name__ == "__main__":
    main()
