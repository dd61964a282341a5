"""A sweep fanned out over a Prefect work pool: two process workers (two "GPU hosts")
on one pool, four cells, each cell run once by one of them, every trial recorded once
in the shared MLflow store."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchlab.services.s3 import S3Endpoint
from tests.fixtures.prefect_server import api, child_env
from tests.fixtures.simulate import simulate_settings, trial_runs

BENCHLAB = [sys.executable, "-m", "benchlab"]
DEPLOY_CELLS = (
    "from benchlab.deployments import deploy_cells\n"
    "from benchlab.orchestration import configure_prefect\n"
    "from benchlab.settings import get_settings\n"
    "settings = get_settings()\n"
    "configure_prefect(settings)\n"
    "print(deploy_cells(settings, settings.work_pool))\n"
)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.mark.slow
def test_four_cells_run_on_two_workers_each_once(
    tmp_path: Path, s3_server: S3Endpoint, prefect_api: str
) -> None:
    settings = simulate_settings(tmp_path, s3_server).model_copy(update={"work_pool": "gpus"})
    env = child_env(settings, prefect_api)
    deployed = subprocess.run(
        [sys.executable, "-c", DEPLOY_CELLS], env=env, capture_output=True, text=True, timeout=300
    )
    assert deployed.returncode == 0, deployed.stderr[-3000:]

    workers, logs, killed = [], [], []
    try:
        for host in ("host-a", "host-b"):
            log = tmp_path / f"worker-{host}.log"
            logs.append(log)
            with log.open("wb") as out:
                workers.append(
                    subprocess.Popen(
                        [*BENCHLAB, "worker", "--limit", "1", "--name", host],
                        env=env | {"BENCHLAB_ENGINE_HOST": host},
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
        sweep = ["--sweep", "batch_size=256,512", "--sweep", "ubatch_size=64,128"]
        simulate = subprocess.run(
            [*BENCHLAB, "simulate", "--task", "guarded", "--agent", "script-solve", *sweep,
             "--name", "pooled", "--work-pool", "gpus"],
            env=env, capture_output=True, text=True, timeout=1200,
        )  # fmt: skip
        worker_logs = "\n".join(f"{p.name}:\n{p.read_text()[-3000:]}" for p in logs)
        assert simulate.returncode == 0, (
            simulate.stdout[-3000:] + simulate.stderr[-3000:] + worker_logs
        )
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                killed.append(worker.args)
                worker.kill()
                worker.wait()
    assert not killed, f"did not stop on SIGTERM within 60 s: {killed}"

    runs = trial_runs(settings, "pooled")
    cells = [run.data.tags["cell"] for run in runs]
    assert len(runs) == 4 and len(set(cells)) == 4, cells
    assert {run.info.status for run in runs} == {"FINISHED"}
    reasons = [(r.data.tags["status"], r.data.tags.get("reason", "")) for r in runs]
    assert {status for status, _reason in reasons} == {"passed"}, reasons
    assert len({run.data.params["engine.batch_size"] for run in runs}) == 2

    flows = {f["name"]: f["id"] for f in api(prefect_api, "POST", "/flows/filter", {})}
    cell_runs = api(prefect_api, "POST", "/flow_runs/filter",
                    {"flows": {"id": {"any_": [flows["simulate-cell"]]}},
                     "flow_runs": {"tags": {"all_": ["sweep:pooled"]}}})  # fmt: skip
    assert len(cell_runs) == 4
    assert {r["state"]["type"] for r in cell_runs} == {"COMPLETED"}

    # Each cell's flow run was taken by exactly one worker, and both workers took some.
    taken = [set(UUID.findall(log.read_text())) for log in logs]
    for run in cell_runs:
        assert sum(run["id"] in ids for ids in taken) == 1, run["id"]
    assert all(ids & {r["id"] for r in cell_runs} for ids in taken), taken

    limits = {c["name"] for c in api(prefect_api, "POST", "/v2/concurrency_limits/filter", {})}
    assert {"benchlab-engine-host-a", "benchlab-engine-host-b"} <= limits
