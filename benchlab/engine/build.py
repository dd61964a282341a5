"""Which llama.cpp build a server is: version, commit, compiled-in backends, CPU code.

Two results from different builds are not the same measurement: a portable AVX2 build
and a native AVX-512 build of the same commit differ in speed, and a CUDA build differs
from a CPU one in everything. The build is read from what the binary itself says:
``--version``, and the ``device_info`` and ``system_info`` lines (and, for builds that
load their CPU backend at run time, the ``load_backend`` line) it logs at trace
verbosity before it loads a model. A serving run logs at the default verbosity, so a
short describing run (an empty model file: it prints, then refuses the file, in
milliseconds) gets them without touching the served model or its log.
"""

from __future__ import annotations

import functools
import hashlib
import re
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from benchlab.engine.binary import version_text
from benchlab.errors import EngineError
from benchlab.results import EngineBuild

__all__ = [
    "EngineBuild",
    "describe_build",
    "fingerprint",
    "parse_devices",
    "parse_system_info",
    "parse_version",
    "read_build",
]

_VERSION = re.compile(r"^version:\s*(?P<version>\S+)\s*\((?P<inner>[^)]*)\)")
_BUILD_COMMIT = re.compile(r"^build (?P<number>\d+), commit (?P<commit>\S+)$")
_COMPILER = re.compile(r"^built with (?P<compiler>.+)$")
_SYSTEM_INFO = re.compile(r"system_info:.*?\|(?P<body>.*)$")
_LOADED = re.compile(r"load_backend: loaded (?P<name>\S+) backend from (?P<path>\S+)")
_DEVICE = re.compile(r"^\s*(?:[\d.]+ +\w +\w+ +\w+: +)?- (?P<name>\S+)\s*: (?P<desc>.+?) \(\d+ MiB")
_VARIANT_FILE = re.compile(r"libggml-cpu-(?P<variant>[\w.-]+?)\.(?:so|dll|dylib)")

_ISA_LEVELS = (
    ("AMX_INT8", "amx"),
    ("AVX512", "avx512"),
    ("AVX2", "avx2"),
    ("AVX", "avx"),
    ("SSE3", "sse3"),
    ("SVE", "arm-sve"),
    ("NEON", "arm-neon"),
)
"""Compiled-in CPU features, most demanding first, and the variant name each implies."""


def parse_version(text: str) -> tuple[str, str, str, str]:
    """Version, build number, commit and compiler from ``llama-server --version``.

    Two forms are in use: ``version: 6500 (abc1234)`` (the build number is the version)
    and ``version: 0.6.0-dev (build 0, commit unknown)``.
    """
    version = number = commit = compiler = ""
    for line in text.splitlines():
        line = line.strip()
        if found := _VERSION.match(line):
            version, inner = found.group("version"), found.group("inner").strip()
            if pair := _BUILD_COMMIT.match(inner):
                number, commit = pair.group("number"), pair.group("commit")
            else:
                number, commit = (version if version.isdigit() else ""), inner
        elif found := _COMPILER.match(line):
            compiler = found.group("compiler").strip()
    return version, number, commit, compiler


def fingerprint(binary: Path) -> str:
    """A short sha256 over the binary and the llama.cpp libraries beside it.

    Builds from one source tree say the same version and commit (``unknown`` without
    git) whatever their CMake flags; their code differs, and so does this.
    """
    digest = hashlib.sha256()
    files = [binary.resolve(), *sorted(binary.resolve().parent.glob("lib*ggml*.so*"))]
    files += sorted(binary.resolve().parent.glob("libllama*.so*"))
    seen: set[Path] = set()
    for path in files:
        real = path.resolve()
        if real in seen or not real.is_file():
            continue
        seen.add(real)
        digest.update(real.name.encode())
        with real.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:12]


def parse_system_info(log: str) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """Backends, CPU features and CPU variant from a llama-server log.

    The ``system_info`` line lists each backend as ``NAME : KEY = VALUE | KEY = VALUE``;
    a CPU feature counts when its value is ``1``.
    """
    backends: list[str] = []
    features: list[str] = []
    loaded_variant = ""
    for line in log.splitlines():
        if found := _LOADED.search(line):
            library = _VARIANT_FILE.search(Path(found.group("path")).name)
            if library and found.group("name").upper() == "CPU":
                loaded_variant = library.group("variant")
        info = _SYSTEM_INFO.search(line)
        if info is None:
            continue
        backends, features, section = [], [], ""
        for part in info.group("body").split("|"):
            part = part.strip()
            if not part:
                continue
            if " : " in part:  # a new backend section: "CPU : SSE3 = 1"
                section, part = (piece.strip() for piece in part.split(" : ", 1))
                backends.append(section)
            key, _, value = part.partition("=")
            if section == "CPU" and value.strip() == "1":
                features.append(key.strip())
    level = next(
        (name for feature, name in _ISA_LEVELS if any(f.startswith(feature) for f in features)),
        "",
    )
    return tuple(backends), tuple(features), loaded_variant or level


def parse_devices(log: str) -> tuple[str, ...]:
    """The devices of ``device_info`` (``CPU: AMD EPYC``, ``CUDA0: NVIDIA H100``)."""
    return tuple(
        f"{found.group('name')}: {found.group('desc').strip()}"
        for line in log.splitlines()
        if (found := _DEVICE.match(line))
    )


def read_build(version_output: str, log: str, binary_sha256: str = "") -> EngineBuild:
    """The build from ``--version`` output and a trace-verbosity log (either may be empty)."""
    version, number, commit, compiler = parse_version(version_output)
    backends, features, variant = parse_system_info(log)
    return EngineBuild(
        version=version,
        build_number=number,
        commit=commit,
        fingerprint=binary_sha256,
        compiler=compiler,
        backends=backends,
        cpu_features=features,
        cpu_variant=variant,
        devices=parse_devices(log),
    )


def describe_build(
    binary: Path, env: Mapping[str, str] | None = None, timeout_s: float = 60.0
) -> EngineBuild:
    """Ask a llama-server binary which build it is, without serving a model.

    Args:
        binary: The llama-server executable.
        env: The environment the server runs with (GPU visibility decides the devices).
        timeout_s: How long the describing run may take (a GPU build enumerates devices).

    Raises:
        EngineError: The binary cannot run at all (``--version`` fails or dies).
    """
    key = (binary, binary.stat().st_mtime_ns if binary.exists() else 0)
    return _describe(
        key, tuple(sorted((env or {}).items())) if env is not None else None, timeout_s
    )


@functools.lru_cache(maxsize=16)
def _describe(
    key: tuple[Path, int], env: tuple[tuple[str, str], ...] | None, timeout_s: float
) -> EngineBuild:
    binary = key[0]
    version = version_text(binary)
    with tempfile.NamedTemporaryFile(suffix=".gguf") as empty:
        argv = [str(binary), "--log-verbosity", "4", "--model", empty.name]
        argv += ["--host", "127.0.0.1", "--port", "0"]
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout_s,
                check=False,
                env=dict(env) if env is not None else None,
                stdin=subprocess.DEVNULL,
            )
            log = done.stdout + "\n" + done.stderr
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise EngineError(f"cannot ask {binary} which build it is: {exc}") from None
    return read_build(version, log, fingerprint(binary))
