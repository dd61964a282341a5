"""Engine slots: Prefect concurrency limits keep two cells off one GPU (or one host)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from benchlab.settings import Settings, engine_env
from benchlab.simulate.slots import engine_slot, host_limits, pinned


def test_limits_per_host_or_per_gpu(tmp_path: Path) -> None:
    host = Settings(data_dir=tmp_path, engine_host="box", cells_per_host=2)
    assert host_limits(host) == {"benchlab-engine-box": (2, None)}
    gpus = host.model_copy(update={"gpus": ("0", "1")})
    assert host_limits(gpus) == {"benchlab-gpu-box-0": (2, "0"), "benchlab-gpu-box-1": (2, "1")}


@pytest.mark.parametrize("keeper", ["prefect", "files"])
def test_each_cell_gets_its_own_gpu_and_a_third_waits(
    tmp_path: Path, prefect_harness: None, keeper: str
) -> None:
    from prefect.settings import PREFECT_API_URL

    # With a Prefect server configured, its concurrency limits; else file locks.
    api = PREFECT_API_URL.value() if keeper == "prefect" else None
    settings = Settings(
        data_dir=tmp_path, engine_host=f"slots-{keeper}", gpus=("0", "1"), prefect_api_url=api
    )
    held: list[str | None] = []
    release = threading.Event()
    third_got: list[float] = []

    def hold() -> None:
        with engine_slot(settings) as slot:
            assert slot is not None
            held.append(slot.gpu)
            release.wait(120)

    holders = [threading.Thread(target=hold) for _ in range(2)]
    for thread in holders:
        thread.start()
    deadline = time.monotonic() + 120
    while len(held) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sorted(held) == ["0", "1"]  # never the same GPU twice

    def third() -> None:
        with engine_slot(settings) as slot:
            assert slot is not None and slot.gpu in ("0", "1")
            third_got.append(time.monotonic())

    waiting = threading.Thread(target=third)
    waiting.start()
    time.sleep(5)
    assert third_got == []  # both GPUs busy: the third cell waits
    released_at = time.monotonic()
    release.set()
    waiting.join(120)
    for thread in holders:
        thread.join(60)
    assert third_got and third_got[0] >= released_at
    if keeper == "files":
        assert sorted(p.name for p in (tmp_path / "locks").iterdir()) == [
            "benchlab-gpu-slots-files-0.0.lock", "benchlab-gpu-slots-files-1.0.lock"
        ]  # fmt: skip


def test_a_killed_holder_releases_its_file_slot(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, engine_host="killed")
    code = (
        "import sys, time\n"
        "from benchlab.settings import Settings\n"
        "from benchlab.simulate.slots import engine_slot\n"
        f"with engine_slot(Settings(data_dir={str(tmp_path)!r}, engine_host='killed')):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(600)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        got: list[bool] = []
        waiting = threading.Thread(target=lambda: _take(settings, got))
        waiting.start()
        time.sleep(3)
        assert got == []  # held by the other process
    finally:
        holder.kill()  # SIGKILL: no cleanup runs in the holder
        holder.wait()
    waiting.join(30)
    assert got == [True]


def _take(settings: Settings, got: list[bool]) -> None:
    with engine_slot(settings):
        got.append(True)


def test_a_cell_without_a_local_engine_takes_no_slot(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, gpus=("3",))
    with engine_slot(settings, needed=False) as slot:  # no Prefect server involved
        assert slot is None
    assert pinned(settings, slot) is settings


def test_a_pinned_engine_sees_only_its_gpu() -> None:
    env = engine_env("1")
    assert env is not None
    assert env["CUDA_VISIBLE_DEVICES"] == env["HIP_VISIBLE_DEVICES"] == "1"
    assert "PATH" in env  # the rest of the host environment is kept for the drivers
    assert engine_env(None) is None
