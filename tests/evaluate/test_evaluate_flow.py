"""The evaluate flow against a scripted judge endpoint: scores known exactly."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from benchlab.evaluate.request import EvaluateRequest
from benchlab.evaluate.scorers import COULD_NOT_SCORE
from benchlab.settings import Settings
from tests.agents.openai_double import Reply, ScriptedOpenAI
from tests.evaluate.conftest import Curated

JUDGED = ("idiomatic", "completeness", "sycophancy", "refusal", "instruction_adherence",
          "correct_behaviour", "minimal_change", "matches_style")  # fmt: skip
"""The sample task's judged criteria: its archetype's, the baseline's, its guidelines."""

# Valid for every judge: scale judges read `score`, the refusal judge reads `refused`.
VERDICT = json.dumps({"rationale": "It adds divide as asked.", "score": 4, "refused": False})


def feedbacks(trace_id: str, run_id: str) -> dict[str, Any]:
    """The feedback assessments an evaluation run left on a trace, by name."""
    import mlflow
    from mlflow.tracing.constant import AssessmentMetadataKey

    trace = mlflow.get_trace(trace_id)
    assert trace is not None
    return {
        a.name: a
        for a in trace.info.assessments
        if a.feedback is not None
        and (a.metadata or {}).get(AssessmentMetadataKey.SOURCE_RUN_ID) == run_id
    }


@pytest.mark.usefixtures("prefect_harness")
def test_scores_land_on_traces_trial_runs_and_the_evaluation_run(
    settings: Settings, curate: Callable[..., Curated]
) -> None:
    from mlflow import MlflowClient

    from flows.evaluate import evaluate

    ref, logged = curate(passes=(True, False), models=("m1", "m2"))
    with ScriptedOpenAI([Reply(text=VERDICT)] * 100, model="judge") as judge:
        request = EvaluateRequest(dataset=ref, base_url=judge.base_url, parallel=3)
        result = evaluate(request, settings)
        calls = len(judge.requests)
        # The same request again reuses the finished evaluation: no judge call.
        again = evaluate(request, settings)
        assert len(judge.requests) == calls and again.reused and again.run_id == result.run_id

    # One judge call per judged criterion per record, each with the schema it must keep.
    assert calls == len(JUDGED) * 2 == result.judge_calls
    assert result.prompt_tokens == 10 * calls and result.completion_tokens == 5 * calls
    assert result.records == 2 and result.dataset == ref and not result.reused
    for name in JUDGED:
        summary = result.criteria[f"judge.{name}"]
        assert (summary.mean, summary.scored, summary.unscored) == (
            (0.0 if name == "refusal" else 4.0),
            2,
            0,
        )
    # The graders: the check passed on one trial of two; both final answers differ.
    assert result.criteria["grader.works"].mean == 0.5
    assert result.criteria["grader.apology"].mean == 0.5
    assert result.by_config["m1/-/c1"]["grader.works"] == 1.0
    assert result.by_config["m2/-/c1"]["grader.works"] == 0.0

    client = MlflowClient()
    for trial in logged:
        found = feedbacks(trial.trace_id, result.run_id)
        assert set(found) == {*JUDGED, "grader_works", "grader_apology"}
        completeness = found["completeness"]
        assert completeness.value == 4 and completeness.rationale == "It adds divide as asked."
        assert completeness.source.source_type == "LLM_JUDGE"
        assert completeness.source.source_id.startswith("completeness@plain-")
        assert found["refusal"].value is False
        metrics = client.get_run(trial.run_id).data.metrics
        assert metrics["judge.completeness"] == 4.0 and metrics["judge.refusal"] == 0.0
        assert "grader.works" in metrics

    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["kind"] == "evaluation"
    name, version = ref.split("@")
    assert run.data.params["dataset.name"] == name
    assert run.data.params["dataset.version"] == version
    assert run.data.params["judge.completeness"].startswith("plain-")
    assert run.data.metrics["judge.completeness.mean"] == 4.0
    assert run.data.metrics["judge.refusal.unscored"] == 0
    assert run.data.metrics["judge.tokens.prompt"] == 10 * calls
    assert run.data.tags["judge.usage"] == "reported"


@pytest.mark.usefixtures("prefect_harness")
def test_a_garbage_judge_leaves_could_not_score_never_a_low_score(
    settings: Settings, curate: Callable[..., Curated]
) -> None:
    from mlflow import MlflowClient

    from flows.evaluate import evaluate

    ref, logged = curate(passes=(False,))
    # An empty script answers "(script exhausted)" to every call: not JSON.
    with ScriptedOpenAI([], model="judge") as judge:
        only = ("completeness", "refusal", "grader_works")
        result = evaluate(EvaluateRequest(dataset=ref, base_url=judge.base_url, only=only),
                          settings)  # fmt: skip
    for name in ("completeness", "refusal"):
        summary = result.criteria[f"judge.{name}"]
        assert (summary.mean, summary.scored, summary.unscored) == (None, 0, 1)
    assert result.criteria["grader.works"].mean == 0.0

    found = feedbacks(logged[0].trace_id, result.run_id)
    assert set(found) == {"completeness", "refusal", "grader_works"}
    for name in ("completeness", "refusal"):
        assert found[name].value is None
        assert found[name].error is not None and found[name].error.error_code == COULD_NOT_SCORE
    metrics = MlflowClient().get_run(logged[0].run_id).data.metrics
    assert "judge.completeness" not in metrics and metrics["grader.works"] == 0.0
    run = MlflowClient().get_run(result.run_id)
    assert run.data.metrics["judge.completeness.unscored"] == 1
    assert "judge.completeness.mean" not in run.data.metrics
