"""The llama-server command line, built from an engine configuration."""

from __future__ import annotations

from pathlib import Path

from benchlab.config.models import EngineConfig
from benchlab.errors import EngineError


def build_argv(
    binary: Path,
    model_path: Path,
    *,
    alias: str,
    engine: EngineConfig,
    ctx_size: int,
    host: str,
    port: int,
    chat_template: str | None = None,
    chat_template_file: Path | None = None,
) -> list[str]:
    """The llama-server command line; every setting is explicit so that runs compare.

    ``--fit off`` keeps llama.cpp from silently changing settings to fit memory: a
    cell must run with the flags it names or fail.
    """
    if chat_template and chat_template_file:
        raise EngineError("give chat_template or chat_template_file, not both")
    argv = [
        str(binary),
        "--model", str(model_path),
        "--alias", alias,
        "--host", host,
        "--port", str(port),
        "--ctx-size", str(ctx_size),
        "--parallel", str(engine.parallel),
        "--threads", str(engine.threads),
        "--threads-batch", str(engine.threads_batch),
        "--batch-size", str(engine.batch_size),
        "--ubatch-size", str(engine.ubatch_size),
        "--n-gpu-layers", str(engine.n_gpu_layers),
        "--flash-attn", engine.flash_attn,
        "--cache-type-k", engine.cache_type_k,
        "--cache-type-v", engine.cache_type_v,
        "--fit", "off",
        "--jinja",
        "--metrics",
    ]  # fmt: skip
    if chat_template:
        argv += ["--chat-template", chat_template]
    elif chat_template_file:
        argv += ["--chat-template-file", str(chat_template_file)]
    argv += list(engine.extra_args)
    return argv
