"""Finding processes a test started, by a unique marker in their command line."""

from __future__ import annotations

import time
import uuid

import psutil


def marker() -> str:
    """A unique, harmless number to put into a command line (``sleep <marker>``)."""
    return f"{300 + uuid.uuid4().int % 10_000}.{uuid.uuid4().int % 1000:03d}"


def processes_with(text: str) -> list[psutil.Process]:
    """Live processes whose command line contains ``text``."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if text in cmdline and proc.info.get("status") != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


def wait_gone(text: str, timeout_s: float = 5.0) -> list[psutil.Process]:
    """Processes still matching ``text`` after waiting up to ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while (left := processes_with(text)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left
