"""Peak GPU memory: the parsers on the tools' real output, the sampler on a real process.

No GPU here: the nvidia-smi texts were captured from an H100 (idle, and holding a 4 GiB
tensor); the rocm-smi texts follow the JSON that ``rocm-smi --showmeminfo vram --json``
prints (values are strings of bytes, one object per card, warnings before it on some
versions). The sampler runs an executable named nvidia-smi that prints that format.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from benchlab.config.models import EngineConfig
from benchlab.engine import LlamaServer
from benchlab.engine.vram import (
    MIB,
    PeakVramSampler,
    parse_nvidia_smi,
    parse_rocm_smi,
    vram_reader,
)

NVIDIA_IDLE = "0\n"
NVIDIA_LOADED = "4715\n"
NVIDIA_TWO_GPUS = "4715\n81003\n"
NVIDIA_NOT_SUPPORTED = "[N/A]\n"

ROCM_ONE_CARD = """{
  "card0": {
    "VRAM Total Memory (B)": "21458059264",
    "VRAM Total Used Memory (B)": "27856896"
  }
}
"""
ROCM_TWO_CARDS_WITH_WARNING = """WARNING: AMD GPU device(s) is/are in a low-power state.
{
  "card0": {
    "VRAM Total Memory (B)": "68702699520",
    "VRAM Total Used Memory (B)": "10485760"
  },
  "card1": {
    "VRAM Total Memory (B)": "68702699520",
    "VRAM Total Used Memory (B)": "4294967296"
  }
}
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (NVIDIA_IDLE, 0),
        (NVIDIA_LOADED, 4715 * MIB),
        (NVIDIA_TWO_GPUS, (4715 + 81003) * MIB),
        (NVIDIA_NOT_SUPPORTED, None),
        ("", None),
    ],
)
def test_parse_nvidia_smi(text: str, expected: int | None) -> None:
    assert parse_nvidia_smi(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ROCM_ONE_CARD, 27856896),
        (ROCM_TWO_CARDS_WITH_WARNING, 10485760 + 4294967296),
        ('{"card0": {"VRAM Total Used Memory (B)": "N/A"}}', None),
        ("ERROR: no GPU found", None),
        ("{not json", None),
    ],
)
def test_parse_rocm_smi(text: str, expected: int | None) -> None:
    assert parse_rocm_smi(text) == expected


def _fake_nvidia_smi(bin_dir: Path, values: Path) -> None:
    """An nvidia-smi that prints the next value of ``values`` on each call (the last repeats)."""
    script = bin_dir / "nvidia-smi"
    script.write_text(
        "#!/bin/sh\n"
        f"v={values}\n"
        'first=$(head -n 1 "$v")\n'
        'if [ "$(wc -l < "$v")" -gt 1 ]; then\n'
        '  tail -n +2 "$v" > "$v.next" && mv "$v.next" "$v"\n'
        "fi\n"
        'echo "$first"\n'
    )
    script.chmod(0o755)


def test_no_tool_means_no_sampling(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert vram_reader() is None
    sampler = PeakVramSampler().start()
    assert not sampler.available
    assert sampler.stop() is None


def test_sampler_keeps_the_peak_above_the_baseline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    values = tmp_path / "values"
    # One value for vram_reader's probe, the baseline, then a rise and a fall.
    values.write_text("1000\n1000\n1000\n3500\n1500\n")
    _fake_nvidia_smi(tmp_path, values)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    sampler = PeakVramSampler(interval_s=0.01).start()
    assert sampler.available and sampler.baseline_bytes == 1000 * MIB
    # The sampling thread is the only reader until the last value is left.
    deadline = time.monotonic() + 10
    while values.read_text().count("\n") > 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sampler.stop() == 2500 * MIB


def test_native_server_records_peak_vram(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, llama_binary: Path, gguf_path: Path
) -> None:
    values = tmp_path / "values"
    values.write_text("200\n200\n200\n700\n")
    _fake_nvidia_smi(tmp_path, values)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    server = LlamaServer(
        llama_binary,
        gguf_path,
        alias="vram",
        engine=EngineConfig(parallel=1),
        model_context_size=2048,
        log_path=tmp_path / "server.log",
    )
    with server:
        pass
    assert server.stats is not None and server.stats.peak_vram_bytes == 500 * MIB
