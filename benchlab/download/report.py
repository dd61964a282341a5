"""What the download stage shows: the plan as a table, progress bars, and the closing summary."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from types import TracebackType

from pydantic import BaseModel, ConfigDict
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from benchlab.download.execute import FileResult
from benchlab.download.plan import DownloadPlan, PlannedFile


def human(n: int) -> str:
    """A byte count for people: ``0 bytes``, ``12.3 MB``, ``1.07 GB``."""
    if n < 1000:
        return f"{n} bytes"
    value = float(n)
    for unit in ("kB", "MB", "GB"):
        value /= 1000
        if value < 1000:
            return f"{value:.3g} {unit}"
    return f"{value / 1000:.3g} TB"


class DownloadReport(BaseModel):
    """The outcome of a download run."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    dry_run: bool
    """True when nothing was transferred on purpose."""

    files: int
    """Files in the plan."""

    sent_bytes: int
    """Bytes transferred."""

    skipped_bytes: int
    """Bytes already in the bucket, not transferred."""

    skipped_files: int
    """Files already in the bucket."""

    manifests: tuple[str, ...]
    """Keys of the manifests written or found unchanged."""

    api_models: tuple[str, ...]
    """API models skipped: nothing to download."""

    def summary(self) -> str:
        """One line for the terminal."""
        if self.dry_run:
            return (
                f"dry run: would transfer {human(self.sent_bytes)}, "
                f"skip {human(self.skipped_bytes)}"
                f" ({self.skipped_files} of {self.files} files already in the bucket)"
            )
        return (
            f"transferred {human(self.sent_bytes)}; skipped {human(self.skipped_bytes)} "
            f"({self.skipped_files} of {self.files} files already in the bucket); "
            f"{len(self.manifests)} manifests"
        )


def dry_run_report(plan: DownloadPlan) -> DownloadReport:
    """The report of a plan that is only shown."""
    skipped = [f for f in plan.files if f.skip]
    return DownloadReport(
        dry_run=True,
        files=len(plan.files),
        sent_bytes=plan.bytes_to_send,
        skipped_bytes=plan.bytes_to_skip,
        skipped_files=len(skipped),
        manifests=(),
        api_models=plan.api_models,
    )


def run_report(
    plan: DownloadPlan, results: Sequence[FileResult], manifests: Sequence[str]
) -> DownloadReport:
    """The report of a run, from what each file transfer did."""
    skipped = [r for r in results if r.sent == 0]
    return DownloadReport(
        dry_run=False,
        files=len(results),
        sent_bytes=sum(r.sent for r in results),
        skipped_bytes=sum(r.size for r in skipped),
        skipped_files=len(skipped),
        manifests=tuple(manifests),
        api_models=plan.api_models,
    )


def plan_table(plan: DownloadPlan) -> Table:
    """The plan: one row per file, with what will happen to it."""
    table = Table(title=f"download plan (bucket {plan.bucket})")
    for column in ("model", "quant", "file", "size", "sha256", "action"):
        table.add_column(column, overflow="fold")
    for quant in plan.quants:
        for f in quant.files:
            table.add_row(
                f.model,
                f.quant,
                f.name,
                human(f.size),
                (f.sha256 or "(hashed on upload)")[:12],
                "[dim]skip: in bucket[/dim]" if f.skip else f"transfer from {f.origin}",
            )
    return table


def show_plan(plan: DownloadPlan, console: Console) -> None:
    """Print the plan, and a line for each API model it leaves out."""
    for name in plan.api_models:
        console.print(f"skipping {name}: an API model, nothing to download")
    if plan.quants:
        console.print(plan_table(plan))


class TransferBars:
    """Rich progress bars, one per file, safe to update from several threads."""

    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._lock = threading.Lock()

    def bar(self, file: PlannedFile) -> Callable[[int], None]:
        """A callback that advances a new bar for ``file`` by the bytes it is given."""
        with self._lock:
            task_id = self._progress.add_task(file.name.rsplit("/", 1)[-1], total=file.size)
        return lambda n: self._progress.advance(task_id, n)

    def __enter__(self) -> TransferBars:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()
