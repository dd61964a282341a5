"""``benchlab ui`` as a user runs it: both servers up, a logged trial in the browser, Ctrl-C.

A recorded real trial (``tests/data/transcripts/scripted.json``, pi on the sample task)
is logged with :func:`benchlab.tracing.log_trial` into a fresh sqlite store; ``benchlab
ui`` then serves that store, and headless Chromium renders the run page and the trace
view (the MLflow UI is a JavaScript app: the DOM is read after its scripts ran).
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import httpx
import psutil
import pytest

from benchlab.results import TrialResult
from benchlab.services.process import free_port
from benchlab.services.ui import group_rss_mb, port_for
from tests.run_cli import benchlab

REPO = Path(__file__).resolve().parents[2]
RECORDED = REPO / "tests" / "data" / "transcripts" / "scripted.json"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
    "--virtual-time-budget=15000",
]
START_TIMEOUT_S = 300  # two servers importing Prefect and MLflow on 2 busy cores

# Runs in its own interpreter so that this session's MLflow state (tracking URI, active
# experiment) stays as the other tests left it.
LOG_SCRIPT = """
import json, sys
from pathlib import Path
import mlflow
from benchlab.results import TrialResult
from benchlab.settings import Settings
from benchlab.tracing import log_trial
from benchlab.tracking import setup_tracking
setup_tracking(Settings(data_dir=Path(sys.argv[1])))
logged = log_trial(TrialResult.model_validate_json(Path(sys.argv[2]).read_text()))
mlflow.flush_trace_async_logging()
print(json.dumps({"run_id": logged.run_id, "trace_id": logged.trace_id,
                  "experiment_id": logged.experiment_id}))
"""


@dataclass
class RunningUi:
    """``benchlab ui`` started by the test, with what it printed and what it logged."""

    proc: subprocess.Popen[str]
    lines: list[str]
    prefect_url: str
    mlflow_url: str
    logged: dict[str, str]
    result: TrialResult
    tmp: Path


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCHLAB_")}
    return env | {
        "BENCHLAB_DATA_DIR": str(data_dir),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "COLUMNS": "200",
    }


def _read_until(proc: subprocess.Popen[str], marker: str, timeout_s: float) -> list[str]:
    """Lines of ``proc``'s stdout up to the one containing ``marker``."""
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not sel.select(timeout=1.0):
                if proc.poll() is not None:
                    break
                continue
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if marker in line:
                return lines
    raise AssertionError(f"no {marker!r} from benchlab ui; it printed:\n" + "\n".join(lines))


def _url(lines: list[str], name: str) -> str:
    found = [m.group(1) for line in lines if (m := re.match(rf"{name} UI: (\S+)", line))]
    assert len(found) == 1, lines
    return found[0]


def test_nothing_to_start_is_a_usage_error() -> None:
    done = benchlab("ui", "--no-prefect", "--no-mlflow")
    assert done.returncode == 2
    assert done.stderr.strip() == "error: nothing to start: both UIs are off"


def test_services_served_elsewhere_are_shown_and_nothing_starts() -> None:
    env = {
        "BENCHLAB_PREFECT_API_URL": "http://bench.example:4200/api",
        "BENCHLAB_MLFLOW_TRACKING_URI": "http://bench.example:5000",
    }
    done = benchlab("ui", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Prefect: BENCHLAB_PREFECT_API_URL is set, its UI: http://bench.example:4200",
        "MLflow: the tracking store is a server, its UI: http://bench.example:5000",
    ]


def test_port_for_takes_the_preferred_port_only_when_free() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        other = port_for("127.0.0.1", taken)
        assert other != taken
    assert port_for("127.0.0.1", other) == other


def test_group_rss_counts_the_children_of_a_real_process_tree() -> None:
    # A parent holding ~64 MiB whose child holds ~64 MiB more.
    hold = "b = b'x' * (64 * 2**20); import time; time.sleep(60)"  # pages written, so resident
    code = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {hold!r}]); {hold}"
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            children = psutil.Process(proc.pid).children()
            if children and group_rss_mb(proc.pid) > 128:
                break
            time.sleep(0.2)
        leader = psutil.Process(proc.pid).memory_info().rss / 2**20
        assert group_rss_mb(proc.pid) > leader + 60
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert group_rss_mb(proc.pid) == 0.0


@pytest.fixture(scope="module")
def running_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningUi]:
    tmp = tmp_path_factory.mktemp("ui")
    data_dir = tmp / "data"
    logged = subprocess.run(
        [sys.executable, "-c", LOG_SCRIPT, str(data_dir), str(RECORDED)],
        cwd=REPO,
        env=_env(data_dir),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert logged.returncode == 0, logged.stderr[-3000:]
    ids = json.loads(logged.stdout.strip().splitlines()[-1])
    prefect_port, mlflow_port = free_port(), free_port()
    ports = ["--prefect-port", str(prefect_port), "--mlflow-port", str(mlflow_port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchlab", "ui", *ports],
        cwd=REPO,
        env=_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # SIGINT reaches benchlab only, as Ctrl-C reaches a shell job
    )
    try:
        lines = _read_until(proc, "Ctrl-C", START_TIMEOUT_S)
        yield RunningUi(
            proc=proc,
            lines=lines,
            prefect_url=_url(lines, "Prefect"),
            mlflow_url=_url(lines, "MLflow"),
            logged=ids,
            result=TrialResult.model_validate_json(RECORDED.read_text()),
            tmp=tmp,
        )
    finally:
        if proc.poll() is None:
            for child in psutil.Process(proc.pid).children(recursive=True):
                child.kill()
            proc.kill()
            proc.wait(timeout=30)


@pytest.mark.slow
def test_prints_both_urls_the_prefect_hint_and_memory(running_ui: RunningUi) -> None:
    text = "\n".join(running_ui.lines)
    assert running_ui.prefect_url.startswith("http://127.0.0.1:")
    assert running_ui.mlflow_url.startswith("http://127.0.0.1:")
    assert f"export BENCHLAB_PREFECT_API_URL={running_ui.prefect_url}/api" in text
    memory = re.search(r"memory \(RSS\): Prefect (\d+) MiB, MLflow (\d+) MiB", text)
    assert memory is not None, text
    print(f"\n{memory.group(0)}")  # the figure, in the test log
    # Each is a real Python server process tree, not a stub.
    assert int(memory.group(1)) > 50 and int(memory.group(2)) > 50


@pytest.mark.slow
def test_prefect_api_and_ui_answer(running_ui: RunningUi) -> None:
    health = httpx.get(f"{running_ui.prefect_url}/api/health", timeout=30)
    assert health.status_code == 200 and health.json() is True
    served = httpx.get(f"{running_ui.prefect_url}/api/admin/version", timeout=30)
    assert served.json() == version("prefect")
    page = httpx.get(running_ui.prefect_url, timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<title>Prefect Server</title>" in page.text


@pytest.mark.slow
def test_mlflow_serves_the_logged_run_and_its_artifacts(running_ui: RunningUi) -> None:
    base, ids = running_ui.mlflow_url, running_ui.logged
    assert httpx.get(f"{base}/version", timeout=30).text == version("mlflow")
    run = httpx.get(f"{base}/api/2.0/mlflow/runs/get", params={"run_id": ids["run_id"]}).json()
    tags = {t["key"]: t["value"] for t in run["run"]["data"]["tags"]}
    assert tags["trace_id"] == ids["trace_id"] and tags["status"] == running_ui.result.status.value
    listed = httpx.get(
        f"{base}/api/2.0/mlflow/artifacts/list", params={"run_id": ids["run_id"]}, timeout=30
    ).json()
    assert "result.json" in {f["path"] for f in listed["files"]}


def _chromium(url: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, url],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _screenshot(url: str, shot: Path, profile: Path) -> None:
    done = _chromium(url, profile, f"--screenshot={shot}")
    assert done.returncode == 0, done.stderr[-2000:]
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1400, 1000)
    assert shot.stat().st_size > 50_000  # a blank or error page compresses to a few kB


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium for the headless browser check")
def test_mlflow_ui_shows_the_run_and_its_trace_in_chromium(running_ui: RunningUi) -> None:
    ids, result, tmp = running_ui.logged, running_ui.result, running_ui.tmp
    experiment = f"{running_ui.mlflow_url}/#/experiments/{ids['experiment_id']}"
    run_page = f"{experiment}/runs/{ids['run_id']}"
    trace_page = f"{experiment}/traces?selectedEvaluationId={ids['trace_id']}"
    profile = tmp / "chromium"

    dom = _chromium(run_page, profile, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    from benchlab.tracing import run_name

    assert run_name(result) in dom.stdout and ids["run_id"] in dom.stdout
    assert ids["trace_id"] in dom.stdout  # the trace_id tag, shown with the run's tags

    dom = _chromium(trace_page, profile, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert ids["trace_id"] in dom.stdout and f"trial {result.task}" in dom.stdout
    # Every model call of the trial is a span in the rendered span tree.
    for call in result.calls:
        assert f"{call.endpoint} #{call.index}" in dom.stdout

    _screenshot(run_page, tmp / "ui-mlflow-run.png", profile)
    _screenshot(trace_page, tmp / "ui-mlflow-trace.png", profile)
    _screenshot(f"{running_ui.prefect_url}/dashboard", tmp / "ui-prefect.png", profile)


@pytest.mark.slow
def test_sigint_stops_both_server_groups_and_exits_0(running_ui: RunningUi) -> None:
    proc = running_ui.proc
    own_group = os.getpgid(proc.pid)
    children = psutil.Process(proc.pid).children(recursive=True)
    # benchlab's guardian (its own session) is not a server; it must end too.
    servers = [c for c in children if "benchlab.services.guardian" not in " ".join(c.cmdline())]
    assert len(servers) < len(children)
    groups = {os.getpgid(child.pid) for child in servers}
    assert len(groups) == 2 and own_group not in groups  # one process group per server
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, rest
    assert "stopped the Prefect and MLflow servers" in rest
    deadline = time.monotonic() + 10
    while (left := [c for c in children if _running(c)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == [], [c.pid for c in left]


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
