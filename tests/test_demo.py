"""`benchlab demo` end to end, as a user runs it: one trial, one run, one trace, no leftovers."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psutil
import pytest

from tests.run_cli import benchlab


def leftovers(data_dir: Path, marker: str) -> list[str]:
    """Processes the demo started that are still alive: by data dir or inherited marker."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE or proc.pid == os.getpid():
            continue
        cmdline = " ".join(proc.info.get("cmdline") or [])
        try:
            environ = proc.environ()
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            environ = {}
        if str(data_dir) in cmdline or environ.get("BENCHLAB_TEST_MARKER") == marker:
            found.append(f"{proc.pid}: {cmdline[:200]}")
    return found


@pytest.mark.slow
def test_demo_end_to_end(tmp_path: Path) -> None:
    import mlflow
    from mlflow import MlflowClient

    data_dir = tmp_path / "data"
    marker = uuid.uuid4().hex
    done = benchlab(
        "demo",
        env={"BENCHLAB_DATA_DIR": str(data_dir), "BENCHLAB_TEST_MARKER": marker},
        unset=["PREFECT_API_URL"],
        timeout_s=1500,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "match" in done.stdout and "MLflow run" in done.stdout

    previous = mlflow.get_tracking_uri()  # the session's store, for the tests after this
    mlflow.set_tracking_uri(f"sqlite:///{data_dir / 'mlflow.db'}")
    try:
        experiment = mlflow.get_experiment_by_name("benchlab")
        assert experiment is not None
        runs = MlflowClient().search_runs([experiment.experiment_id])
        assert len(runs) == 1
        run = runs[0]
        assert run.data.tags["task"] == "sample"
        assert run.data.tags["status"] in {"passed", "failed", "timeout", "limit", "error"}
        assert run.data.params["engine.ctx_size"] == "8192"
        assert run.data.metrics["probe.pp_tps"] > 0 and run.data.metrics["probe.tg_tps"] > 0
        assert run.data.tags["cell"]
        artifacts = {a.path for a in MlflowClient().list_artifacts(run.info.run_id)}
        assert {"diff.patch", "result.json"} <= artifacts

        traces = mlflow.search_traces(
            locations=[experiment.experiment_id], run_id=run.info.run_id, return_type="list"
        )
        assert len(traces) == 1
        llm = [s for s in traces[0].data.spans if s.span_type == "LLM"]
        assert llm, "the agent made at least one model call"
        usage = [s.get_attribute("mlflow.chat.tokenUsage") for s in llm]
        output_tokens = sum(u["output_tokens"] for u in usage)
        input_tokens = sum(u["input_tokens"] for u in usage)
        # llama-server's own counters (/metrics), read before and after the trial.
        assert output_tokens == run.data.metrics["server.output_tokens"]
        processed = sum(int((s.get_attribute("timings") or {}).get("prompt_n", 0)) for s in llm)
        assert processed == run.data.metrics["server.prompt_tokens_processed"]
        assert input_tokens == run.data.metrics["tokens.input"] >= processed
        # The engine build that ran, and how busy the host was meanwhile.
        params = run.data.params
        assert params["engine.launcher"] == "native" and "engine.image" not in params
        assert params["engine.build.cpu_variant"] and len(params["engine.build.sha"]) == 12
        assert "CPU" in params["engine.build.backends"].split(",")
        assert run.data.metrics["host.cpus"] >= 1 and "host.contended" in run.data.metrics
    finally:
        mlflow.set_tracking_uri(previous)

    assert leftovers(data_dir, marker) == []
