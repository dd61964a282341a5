"""Finding processes a test started, by a unique marker in their command line or in
their environment (``BENCHLAB_TEST_MARKER``, inherited by everything they start)."""

from __future__ import annotations

import os
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


MARKER_VARIABLE = "BENCHLAB_TEST_MARKER"
"""The environment variable a test sets on what it starts, to find all of it again."""


def marked(value: str) -> list[psutil.Process]:
    """Live processes (not zombies, not this one) whose environment carries the marker."""
    found = []
    for proc in psutil.process_iter(["status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE or proc.pid == os.getpid():
            continue
        try:
            if proc.environ().get(MARKER_VARIABLE) == value:
                found.append(proc)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return found


def wait_unmarked(value: str, within_s: float) -> list[psutil.Process]:
    """Processes still carrying the marker after waiting up to ``within_s``."""
    deadline = time.monotonic() + within_s
    while (left := marked(value)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left
