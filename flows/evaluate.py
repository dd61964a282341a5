"""The evaluate flow: a curated dataset version scored by the judges and graders."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from benchlab.evaluate import publish, scoring, steps
from benchlab.evaluate.judges import JudgeSet
from benchlab.evaluate.request import EvaluateRequest, EvaluateResult
from benchlab.evaluate.scoring import Scoring
from benchlab.evaluate.steps import Version
from benchlab.settings import Settings, get_settings

# Records, judges and scores are large or hold live objects: no task hashes or caches them.


@task(name="resolve-dataset", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def resolve_dataset(settings: Settings, request: EvaluateRequest) -> Version:
    """``NAME`` or ``NAME@VERSION`` to a recorded dataset version."""
    return steps.resolve(settings, request)


@task(name="load-records", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def load_records(version: Version) -> list[dict[str, Any]]:
    """The records of exactly the version's trials."""
    return steps.load_records(version)


@task(name="load-judges", cache_policy=NO_CACHE)
def load_judges(
    settings: Settings, request: EvaluateRequest, records: list[dict[str, Any]]
) -> JudgeSet:
    """Rubrics, judges (compiled when saved) and the tasks' graders."""
    return steps.load_judges(settings, request, records)


@task(name="find-previous", cache_policy=NO_CACHE)
def find_previous(
    settings: Settings, request: EvaluateRequest, version: Version, judges: JudgeSet
) -> tuple[str, EvaluateResult | None]:
    """The evaluation's key, and the result of a finished one with the same key."""
    key = steps.evaluation_key(settings, request, version, judges)
    return key, None if request.force else steps.find_previous(version, key)


@task(name="score-records", cache_policy=NO_CACHE)
def score_records(
    settings: Settings,
    request: EvaluateRequest,
    version: Version,
    records: list[dict[str, Any]],
    judges: JudgeSet,
) -> Scoring:
    """Every criterion of every record through ``mlflow.genai.evaluate``, judge calls in
    parallel; the judge model started here when none is configured."""
    return scoring.score(
        settings, request, version.ref, version.curation_run_id, records, judges,
        version.experiment_id,
    )  # fmt: skip


@task(name="check-assessments", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def check_assessments(result: Scoring) -> int:
    """Each trace read back; any score missing from it logged as an assessment."""
    return publish.ensure_assessments(result)


@task(name="log-trial-metrics", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def log_trial_metrics(result: Scoring) -> int:
    """``judge.<criterion>`` and ``grader.<name>`` metrics on each trial's run."""
    return publish.log_trial_metrics(result)


@task(name="log-evaluation", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def log_evaluation(
    result: Scoring,
    request: EvaluateRequest,
    version: Version,
    judges: JudgeSet,
    records: list[dict[str, Any]],
    key: str,
) -> EvaluateResult:
    """Aggregates, dataset and judge versions on the evaluation run; the run finished."""
    summary = publish.summarize(result, version.ref, judges.versions(), len(records))
    publish.log_evaluation(result, summary, request, key)
    return summary


@flow(name="evaluate", log_prints=True, validate_parameters=False)
def evaluate(request: EvaluateRequest, settings: Settings | None = None) -> EvaluateResult:
    """Score a curated dataset version with its archetypes' and the baseline judges and
    the tasks' graders; each score an assessment on its trace and a metric of its trial's
    run, the aggregates on one evaluation run. The same request again reuses that run."""
    # A run started from the Prefect UI passes the form's values as a plain dict.
    request = EvaluateRequest.model_validate(request)
    settings = settings or get_settings()
    version = resolve_dataset(settings, request)
    records = load_records(version)
    judges = load_judges(settings, request, records)
    key, previous = find_previous(settings, request, version, judges)
    if previous is not None:
        return previous
    result = score_records(settings, request, version, records, judges)
    check_assessments(result)
    log_trial_metrics(result)
    return log_evaluation(result, request, version, judges, records, key)
