"""The download flow: models from the Hugging Face hub (or a local source) into the bucket."""

from __future__ import annotations

from pathlib import Path

from prefect import Task, flow, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.states import State
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff
from rich.console import Console

from benchlab.download import steps
from benchlab.download.execute import FileResult, is_retryable, unique_files
from benchlab.download.plan import DownloadPlan, PlannedFile, PlannedQuant
from benchlab.download.report import DownloadReport, TransferBars, dry_run_report, show_plan
from benchlab.services.s3 import S3Endpoint
from benchlab.settings import Settings, get_settings


def _network_error(task: Task[..., object], run: TaskRun, state: State[object]) -> bool:
    """Retry broken connections and unavailable services, never a checksum mismatch."""
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, BaseException) and is_retryable(exc)


@task(name="plan", cache_policy=NO_CACHE)
def plan(settings: Settings, selection: steps.Selection, endpoint: S3Endpoint) -> DownloadPlan:
    """Resolve revisions, select the quants' files, and see what the bucket has already."""
    return steps.make_plan(settings, selection, endpoint)


@task(
    name="transfer-file",
    task_run_name="transfer {item[0].name}",
    cache_policy=NO_CACHE,
    retries=4,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_jitter_factor=0.5,
    retry_condition_fn=_network_error,
)
def transfer_file(
    settings: Settings,
    endpoint: S3Endpoint,
    download_plan: DownloadPlan,
    item: tuple[PlannedFile, PlannedQuant],
    bars: TransferBars | None,
) -> FileResult:
    """One file streamed into the bucket and verified, or skipped if it is there."""
    return steps.transfer(settings, endpoint, download_plan, item, bars)


@task(name="write-manifests", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def write_manifests(
    endpoint: S3Endpoint, download_plan: DownloadPlan, results: list[FileResult]
) -> DownloadReport:
    """One manifest per model and quant; the report of bytes moved and skipped."""
    return steps.finish(endpoint, download_plan, results)


def transfer_files(
    settings: Settings, endpoint: S3Endpoint, download_plan: DownloadPlan, console: Console
) -> list[FileResult]:
    """One ``transfer-file`` task per file, ``download_parallel`` at a time, with progress bars."""
    runner: ThreadPoolTaskRunner[FileResult] = ThreadPoolTaskRunner(
        max_workers=settings.download_parallel
    )
    with TransferBars(console) as bars, runner:
        futures = [
            runner.submit(transfer_file, dict(settings=settings, endpoint=endpoint,
                                              download_plan=download_plan, item=item, bars=bars))
            for item in unique_files(download_plan)
        ]  # fmt: skip
        return [future.result() for future in futures]


@flow(name="download", log_prints=True, validate_parameters=False)
def download(
    models: list[str] | None = None,
    provider: str | None = None,
    config: Path | None = None,
    dry_run: bool = False,
    settings: Settings | None = None,
) -> DownloadReport:
    """Put the GGUF files of the selected local models into the bucket, with manifests.

    Args:
        models: Model names; default every model in ``models.yaml``.
        provider: Only models of this provider (``local`` or an API provider).
        config: The ``models.yaml`` to use; default the settings'.
        dry_run: Show the plan and transfer nothing.
        settings: benchlab settings; default read from the environment.
    """
    settings = steps.with_config(settings or get_settings(), config)
    selection = steps.select_models(settings, models or (), provider)
    console = Console()
    with steps.object_store_endpoint(settings) as endpoint:
        download_plan = plan(settings, selection, endpoint)
        show_plan(download_plan, console)
        if dry_run:
            report = dry_run_report(download_plan)
        else:
            results = transfer_files(settings, endpoint, download_plan, console)
            report = write_manifests(endpoint, download_plan, results)
    console.print(report.summary())
    return report
