"""Publishing a scoring: assessments checked on each trace, ``judge.*`` metrics on each
trial run, aggregates and parameters on the evaluation run."""

from __future__ import annotations

import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from benchlab.curate.version import DatasetRef
from benchlab.evaluate.request import CriterionSummary, EvaluateRequest, EvaluateResult
from benchlab.evaluate.scorers import feedback
from benchlab.evaluate.scoring import Scoring
from benchlab.evaluate.tally import Scored

RESULT_ARTIFACT = "evaluation.json"
"""The evaluation run's artifact holding its :class:`EvaluateResult`."""


def ensure_assessments(scoring: Scoring) -> int:
    """Read each trace back and log any of this evaluation's scores it lacks.

    MLflow's evaluation logs them itself; a score it failed to write (it only warns)
    is written here, so every score ends on its trace.

    Returns:
        How many assessments had to be written here.
    """
    import mlflow
    from mlflow.tracing.constant import AssessmentMetadataKey

    by_trial: dict[str, list[Scored]] = defaultdict(list)
    for scored in scoring.tally.scores:
        by_trial[scored.trial_id].append(scored)
    written = 0
    for trial in scoring.trials:
        trace = mlflow.get_trace(trial.trace_id)
        present = {
            a.name
            for a in (trace.info.assessments if trace else [])
            if a.feedback is not None
            and (a.metadata or {}).get(AssessmentMetadataKey.SOURCE_RUN_ID) == scoring.run_id
        }
        for scored in by_trial[trial.trial_id]:
            if scored.score.criterion in present:
                continue
            source_type = "LLM_JUDGE" if scored.metric.startswith("judge.") else "CODE"
            assessment = feedback(scored.score, source_type)
            assessment.metadata = {AssessmentMetadataKey.SOURCE_RUN_ID: scoring.run_id}
            mlflow.log_assessment(trial.trace_id, assessment)
            written += 1
    return written


def log_trial_metrics(scoring: Scoring) -> int:
    """Each score as metric ``judge.<criterion>`` (``grader.<name>``) of its trial's run.

    Unscored criteria get no metric: an absent value, never a low one.

    Returns:
        How many trial runs were written to.
    """
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    runs = {t.trial_id: t.run_id for t in scoring.trials}
    stamp = int(time.time() * 1000)
    batches: dict[str, list[Metric]] = defaultdict(list)
    for scored in scoring.tally.scores:
        if scored.value is not None and runs.get(scored.trial_id):
            batches[runs[scored.trial_id]].append(Metric(scored.metric, scored.value, stamp, 0))
    client = MlflowClient()
    for run_id, metrics in batches.items():
        client.log_batch(run_id, metrics=metrics)
    return len(batches)


def _summaries(scores: list[Scored]) -> dict[str, CriterionSummary]:
    grouped: dict[str, list[Scored]] = defaultdict(list)
    for scored in scores:
        grouped[scored.metric].append(scored)
    summaries = {}
    for metric, group in sorted(grouped.items()):
        values = [s.value for s in group if s.value is not None]
        summaries[metric] = CriterionSummary(
            mean=sum(values) / len(values) if values else None,
            scored=len(values),
            unscored=len(group) - len(values),
        )
    return summaries


def _by_config(scoring: Scoring) -> dict[str, dict[str, float]]:
    config = {t.trial_id: t.config for t in scoring.trials}
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for scored in scoring.tally.scores:
        if scored.value is not None:
            values[config.get(scored.trial_id, "-")][scored.metric].append(scored.value)
    return {
        c: {m: sum(v) / len(v) for m, v in sorted(metrics.items())}
        for c, metrics in sorted(values.items())
    }


def summarize(
    scoring: Scoring, ref: DatasetRef, versions: dict[str, str], records: int
) -> EvaluateResult:
    """The evaluation's result: per criterion and per configuration, tokens and time."""
    tally = scoring.tally
    return EvaluateResult(
        dataset=str(ref),
        run_id=scoring.run_id,
        records=records - len(scoring.skipped),
        criteria=_summaries(tally.scores),
        by_config=_by_config(scoring),
        judges=versions,
        prompt_tokens=tally.prompt_tokens if tally.has_usage else None,
        completion_tokens=tally.completion_tokens if tally.has_usage else None,
        judge_calls=tally.calls,
        judge_time_s=round(tally.call_time_s, 3),
        wall_s=round(scoring.wall_s, 3),
    )


def log_evaluation(
    scoring: Scoring, result: EvaluateResult, request: EvaluateRequest, key: str
) -> None:
    """Aggregates as metrics and the dataset, judges and endpoint as params of the
    evaluation run, its result as an artifact; the run marked finished."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    metrics = {"records": float(result.records), "records.skipped": float(len(scoring.skipped)),
               "judge.calls": float(result.judge_calls), "judge.time_s": result.judge_time_s,
               "evaluate.wall_s": result.wall_s}  # fmt: skip
    for metric, summary in result.criteria.items():
        if summary.mean is not None:
            metrics[f"{metric}.mean"] = summary.mean
        metrics[f"{metric}.scored"] = float(summary.scored)
        metrics[f"{metric}.unscored"] = float(summary.unscored)
    if result.prompt_tokens is not None and result.completion_tokens is not None:
        metrics["judge.tokens.prompt"] = float(result.prompt_tokens)
        metrics["judge.tokens.completion"] = float(result.completion_tokens)
    ref = DatasetRef.parse(result.dataset)
    params = {"dataset": result.dataset, "dataset.name": ref.name, "dataset.version": ref.version,
              "judge.endpoint": scoring.judge_identity, "judge.model": scoring.endpoint_model,
              "parallel": str(request.parallel), "only": ",".join(request.only) or "all",
              **{f"judge.{name}": version for name, version in result.judges.items()}}  # fmt: skip
    client = MlflowClient()
    stamp = int(time.time() * 1000)
    client.log_batch(
        scoring.run_id,
        metrics=[Metric(k, v, stamp, 0) for k, v in sorted(metrics.items())],
        params=[Param(k, v[:500]) for k, v in sorted(params.items())],
    )
    usage = "reported" if result.prompt_tokens is not None else "not reported: time only"
    with tempfile.TemporaryDirectory(prefix="benchlab-evaluation-") as tmp:
        (Path(tmp) / RESULT_ARTIFACT).write_text(result.model_dump_json(indent=1))
        (Path(tmp) / "skipped_trials.json").write_text(json.dumps(scoring.skipped))
        client.log_artifacts(scoring.run_id, tmp)
    # The key last: a run carrying it is complete, and a later identical request reuses it.
    client.set_tag(scoring.run_id, "judge.usage", usage)
    client.set_tag(scoring.run_id, "evaluation_key", key)
    client.set_terminated(scoring.run_id, status="FINISHED")
