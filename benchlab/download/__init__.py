"""The download stage: models from the hub (or a local source) into the bucket, verified.

:mod:`~benchlab.download.plan` decides what to move, :mod:`~benchlab.download.execute`
moves it (reading the hub ahead with :mod:`~benchlab.download.prefetch`) and writes
manifests, :mod:`~benchlab.download.report` shows plan, progress and
outcome, :mod:`~benchlab.download.steps` gives ``flows/download.py`` its steps.
"""

from benchlab.download.execute import FileResult, execute_plan, is_retryable, transfer_file
from benchlab.download.plan import DownloadPlan, PlannedFile, PlannedQuant, plan_download
from benchlab.download.report import DownloadReport, TransferBars, human

__all__ = [
    "DownloadPlan",
    "DownloadReport",
    "FileResult",
    "PlannedFile",
    "PlannedQuant",
    "TransferBars",
    "execute_plan",
    "human",
    "is_retryable",
    "plan_download",
    "transfer_file",
]
