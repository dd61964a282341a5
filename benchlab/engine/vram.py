"""Peak GPU memory while a server runs, from ``nvidia-smi`` or ``rocm-smi`` when present.

The tools report memory in use on the whole device, not per process, so the peak is
taken relative to what was in use when sampling started: other work on the same GPU
during a run counts too. Without either tool (a CPU host) nothing is sampled and the
peak is ``None``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence

MIB = 1 << 20

NVIDIA_QUERY = ("nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits")
"""One line per GPU: memory in use, in MiB."""

ROCM_QUERY = ("rocm-smi", "--showmeminfo", "vram", "--json")
"""JSON per card: ``"VRAM Total Used Memory (B)"`` as a string of bytes."""

ROCM_USED_KEY = "VRAM Total Used Memory (B)"


def parse_nvidia_smi(text: str) -> int | None:
    """Bytes in use over all GPUs from ``nvidia-smi``'s csv; None when no line is a number.

    A GPU that reports ``[N/A]`` (some MIG and unified-memory parts) is left out.
    """
    used = [line.strip() for line in text.splitlines()]
    numbers = [int(float(value)) for value in used if value.replace(".", "", 1).isdigit()]
    return sum(numbers) * MIB if numbers else None


def parse_rocm_smi(text: str) -> int | None:
    """Bytes in use over all cards from ``rocm-smi --json``; None when none reports it.

    rocm-smi may print warnings before the JSON document, so parsing starts at the
    first ``{``.
    """
    start = text.find("{")
    if start < 0:
        return None
    try:
        cards = json.loads(text[start:])
    except ValueError:
        return None
    if not isinstance(cards, dict):
        return None
    numbers = [
        int(card[ROCM_USED_KEY])
        for card in cards.values()
        if isinstance(card, dict) and str(card.get(ROCM_USED_KEY, "")).isdigit()
    ]
    return sum(numbers) if numbers else None


Reader = Callable[[], int | None]


def _reader(argv: Sequence[str], parse: Callable[[str], int | None]) -> Reader:
    def read() -> int | None:
        try:
            done = subprocess.run(
                list(argv), capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return parse(done.stdout) if done.returncode == 0 else None

    return read


def vram_reader() -> Reader | None:
    """A function that reads GPU memory in use now, or None when no tool answers here."""
    for argv, parse in ((NVIDIA_QUERY, parse_nvidia_smi), (ROCM_QUERY, parse_rocm_smi)):
        if shutil.which(argv[0]) is None:
            continue
        read = _reader(argv, parse)
        if read() is not None:
            return read
    return None


class PeakVramSampler:
    """Samples GPU memory in use every ``interval_s``; the peak is above the first sample.

    Args:
        reader: Reads bytes in use now; default :func:`vram_reader` (None: no GPU tool,
            and the sampler does nothing).
        interval_s: Seconds between samples; each sample runs the tool once.
    """

    def __init__(self, reader: Reader | None = None, interval_s: float = 0.5) -> None:
        self._read = reader if reader is not None else vram_reader()
        self.interval_s = interval_s
        self.baseline_bytes: int | None = None
        self._peak_used: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vram", daemon=True)

    @property
    def available(self) -> bool:
        """Whether a GPU tool answers on this host."""
        return self._read is not None

    @property
    def peak_bytes(self) -> int | None:
        """Peak bytes in use above the baseline; None without a GPU tool."""
        if self._peak_used is None or self.baseline_bytes is None:
            return None
        return max(0, self._peak_used - self.baseline_bytes)

    def start(self) -> PeakVramSampler:
        """Take the baseline and start sampling (nothing without a GPU tool)."""
        if self._read is not None:
            self.baseline_bytes = self._read()
            self._thread.start()
        return self

    def sample(self) -> None:
        """Take one sample now."""
        used = self._read() if self._read is not None else None
        if used is not None:
            self._peak_used = used if self._peak_used is None else max(self._peak_used, used)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval_s)

    def stop(self) -> int | None:
        """Stop sampling (one last sample first); returns :attr:`peak_bytes`."""
        if self._thread.is_alive():
            self.sample()
            self._stop.set()
            self._thread.join(timeout=15)
        return self.peak_bytes
