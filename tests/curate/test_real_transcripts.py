"""Baseline metrics and records of recorded real trials (see tests/data/transcripts).

``sample-0.json`` and ``sample-1.json``: the small gemma model behind llama-server, with
pi on the sample task (both rambled until the time limit). ``scripted.json``: pi on the
sample task with the scripted model: three identical ``ls``, a failing ``cat``, the fix,
an apologetic answer. The expected values below were read off the JSON files.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from benchlab.curate import steps
from benchlab.curate.baseline import baseline_metrics
from benchlab.curate.building import build_in_processes
from benchlab.curate.filters import CurateFilters
from benchlab.curate.options import CurateOptions
from benchlab.curate.records import Guidelines, TrialRef, build_record
from benchlab.curate.select import local_result_path
from benchlab.curate.transcript import render
from benchlab.results import TrialResult
from benchlab.settings import Settings
from benchlab.tracing import log_trial

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "transcripts"


def recorded(name: str) -> TrialResult:
    return TrialResult.model_validate_json((DATA / f"{name}.json").read_text())


def test_scripted_trial_metrics() -> None:
    assert baseline_metrics(recorded("scripted")) == {
        "baseline.turns": 6.0,
        "baseline.tokens.input": 60.0,
        "baseline.tokens.output": 30.0,
        "baseline.wall_s": 14.120742066,
        "baseline.time.model_s": 0.021966275,
        "baseline.time.tools_s": 0.429840935,
        "baseline.tool_calls.total": 5.0,
        "baseline.tool_calls.by_tool.bash": 4.0,
        "baseline.tool_calls.by_tool.write": 1.0,
        "baseline.tool_calls.hallucinated": 0.0,
        "baseline.tool_calls.invalid_json": 0.0,
        "baseline.tool_calls.hallucinated_rate": 0.0,
        "baseline.schema_adherence": 1.0,
        "baseline.tool_steps": 5.0,
        "baseline.tool_errors": 1.0,
        "baseline.tool_error_rate": 0.2,
        "baseline.loops": 1.0,
        "baseline.loops.longest": 3.0,
        "baseline.heuristic.refusal": 0.0,
        "baseline.heuristic.apologies": 2.0,
        "baseline.heuristic.sycophancy": 1.0,
        "baseline.ttft.p50_s": 0.0026695594997363514,
        "baseline.ttft.p95_s": 0.005832335000377498,
    }


@pytest.mark.parametrize(
    ("name", "wall_s", "model_s", "ttft_s", "load_s", "rss_mb"),
    [
        ("sample-0", 601.26646012, 595.954556949, 37.2520845199997, 1.4057116149997455,
         419.8359375),
        ("sample-1", 601.606768147, 589.583605476, 83.49503752499913, 12.682424398999501,
         419.8984375),
    ],
)  # fmt: skip
def test_small_model_trial_metrics(
    name: str, wall_s: float, model_s: float, ttft_s: float, load_s: float, rss_mb: float
) -> None:
    # One streamed answer cut by the time limit: no usage, no timings, no tool call.
    assert baseline_metrics(recorded(name)) == {
        "baseline.turns": 1.0,
        "baseline.tokens.input": 0.0,
        "baseline.tokens.output": 0.0,
        "baseline.wall_s": wall_s,
        "baseline.time.model_s": model_s,
        "baseline.time.tools_s": 0.0,
        "baseline.tool_calls.total": 0.0,
        "baseline.tool_calls.hallucinated": 0.0,
        "baseline.tool_calls.invalid_json": 0.0,
        "baseline.tool_steps": 0.0,
        "baseline.tool_errors": 0.0,
        "baseline.loops": 0.0,
        "baseline.loops.longest": 0.0,
        "baseline.heuristic.refusal": 0.0,
        "baseline.heuristic.apologies": 0.0,
        "baseline.heuristic.sycophancy": 0.0,
        "baseline.ttft.p50_s": ttft_s,
        "baseline.ttft.p95_s": ttft_s,
        "baseline.engine.load_time_s": load_s,
        "baseline.engine.peak_rss_mb": rss_mb,
    }


def test_scripted_trial_record() -> None:
    result = recorded("scripted")
    record = build_record(
        result, TrialRef("run1", "tr-1"), Guidelines(REPO / "tasks")("sample"), CurateOptions()
    )
    assert record["inputs"] == {
        "trial_id": "512282b5a8fb",
        "task": "sample",
        "archetype": "feature_implementation",
        "prompt": result.prompt,
        "repository": result.repository,
        "commit": "eec803b11e93f7bf880dc4dac182f605b3c8d5e1",
    }
    outputs = record["outputs"]
    assert outputs["status"] == "passed" and outputs["diff_truncated"] is False
    assert result.diff is not None and outputs["diff"] == result.diff.patch
    assert [c["name"] for c in outputs["checks"]] == ["existing tests", "divide works"]
    assert [g["name"] for g in record["expectations"]["guidelines"]] == [
        "correct_behaviour", "minimal_change", "matches_style",
    ]  # fmt: skip
    assert record["expectations"]["rubric"] == "feature_implementation"
    assert record["tags"]["trace_id"] == "tr-1" and record["tags"]["cell"] == "scripted-cell"
    transcript = outputs["transcript"]
    assert transcript.count('## tool bash {"command": "ls"}') == 3
    assert '## tool bash (error) {"command": "cat notes.txt"}' in transcript
    assert "No such file or directory" in transcript
    assert transcript.rstrip().endswith("I added divide(a, b) to calc.py.")
    assert transcript == render(result) and outputs["transcript_truncated"] is False


def test_small_model_transcript_is_trimmed_in_a_small_budget() -> None:
    result = recorded("sample-0")
    options = CurateOptions(max_transcript_chars=400)
    record = build_record(result, TrialRef("r"), [], options)
    assert record["outputs"]["transcript_truncated"] is True
    lines = record["outputs"]["transcript"].splitlines()
    assert lines[0] == "## model call 0 (error: client disconnected)"
    assert any(line.endswith("characters cut ...]") for line in lines)


@pytest.mark.slow
def test_recorded_trials_logged_and_curated(
    tracking_settings: Settings, mlflow_experiment: str
) -> None:
    """The real results logged with their traces, then curated through the flow's steps."""
    import mlflow

    sweep = uuid.uuid4().hex[:8]
    logged = {}
    for name in ("scripted", "sample-0", "sample-1"):
        result = recorded(name).model_copy(update={"sweep": sweep})
        logged[result.trial_id] = log_trial(result)
    settings = tracking_settings.model_copy(update={"tasks_dir": REPO / "tasks"})
    filters = CurateFilters(sweeps=(sweep,))
    options = CurateOptions(dataset=f"real-{sweep}", parquet=False)
    selection = steps.select(settings, filters, options)
    records = steps.build_records(settings, selection, options)
    # log_trial logged the baseline metrics: the runs are up to date.
    assert steps.log_baseline(selection, records) == 0
    # Worker processes build the same records, in the same order.
    jobs = [(local_result_path(t.artifact_uri), TrialRef(t.run_id, t.trace_id))
            for t in selection.trials]  # fmt: skip
    assert all(path for path, _ in jobs)
    in_processes = build_in_processes(jobs, settings.tasks_dir, options, workers=2)  # type: ignore[arg-type]
    assert list(in_processes) == records
    cells = steps.cell_table(records)
    outcome = steps.upsert_dataset(selection, records, filters, options, cells)
    assert (outcome.records, outcome.new) == (3, 3)
    assert cells["scripted-cell"]["baseline.loops"] == 1.0
    for record in records:
        trace_id = record["tags"]["trace_id"]
        assert trace_id == logged[record["inputs"]["trial_id"]].trace_id
        trace = mlflow.get_trace(trace_id)
        assert trace is not None and trace.info.tags["sweep"] == sweep
    # Curating again with the same filters finds the same version.
    again = steps.upsert_dataset(
        selection, steps.build_records(settings, selection, options), filters, options, cells
    )
    assert again.ref == outcome.ref and again.already_curated


@pytest.mark.parametrize("name", ["scripted", "sample-0", "sample-1"])
def test_reading_without_request_bodies_changes_no_record(name: str) -> None:
    from benchlab.curate.reading import CuratedTrial, read_trial

    text = (DATA / f"{name}.json").read_text()
    full, curated = TrialResult.model_validate_json(text), read_trial(text)
    assert isinstance(curated, CuratedTrial) and any(c.request for c in full.calls)
    assert all(c.request == {} for c in curated.calls)
    ref, options = TrialRef("r", "t"), CurateOptions(max_transcript_chars=400)
    assert build_record(curated, ref, [], options) == build_record(full, ref, [], options)
    # Everything but the request bodies is the same result.
    no_requests = {"calls": {"__all__": {"request"}}}
    assert curated.model_dump(exclude=no_requests) == full.model_dump(exclude=no_requests)


def test_a_missing_result_in_a_worker_is_one_line_error(tmp_path: Path) -> None:
    from benchlab.errors import BenchlabError

    jobs = [(DATA / "scripted.json", TrialRef("r0")), (tmp_path / "result.json", TrialRef("r1"))]
    with pytest.raises(BenchlabError, match=r"cannot read result\.json"):
        list(build_in_processes(jobs, REPO / "tasks", CurateOptions(), workers=2))
