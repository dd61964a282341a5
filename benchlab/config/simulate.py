"""What a user asks to simulate: the simulate flow's parameters."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictStr

from benchlab.config.base import Frozen

NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class SimulateRequest(Frozen):
    """A sweep to run: which tasks, on which models, in which agents, how often."""

    tasks: tuple[Annotated[str, Field(pattern=NAME)], ...] = Field(
        default=("sample",), min_length=1
    )
    """Task names (``tasks/NAME.yaml``)."""

    models: tuple[Annotated[str, Field(pattern=NAME)], ...] = ()
    """Model names from ``models.yaml``; empty means every model."""

    providers: tuple[Annotated[str, Field(pattern=NAME)], ...] = ()
    """Only models of these providers (``local``, ``openai``, ...); empty means any."""

    quants: tuple[StrictStr, ...] = ()
    """Only these quantization tags of local models; empty means every listed tag."""

    agents: tuple[Annotated[str, Field(pattern=NAME)], ...] = Field(default=("pi",), min_length=1)
    """Agent harnesses to run each task in: a sweep dimension like the model."""

    repeats: int = Field(default=1, ge=1, le=1000)
    """Independent repeats of every task on every configuration."""

    engine: tuple[StrictStr, ...] = ()
    """Engine settings to sweep on top of ``models.yaml``: ``FIELD=V1,V2`` each."""

    name: Annotated[str, Field(pattern=NAME)] | None = None
    """The sweep's name; by default an id derived from what it runs, so that the same
    command resumes the same sweep."""

    sandbox: Literal["auto", "local", "docker"] = "auto"
    """Where agents' tools run: docker when a daemon answers (``auto``), or as given."""

    stuck_after_s: float | None = Field(default=None, gt=0)
    """End a trial as ``timeout`` after this long with no model call and no workspace
    change; by default the task's setting, else 300 s."""

    work_pool: Annotated[str, Field(pattern=NAME)] | None = None
    """Send each cell to this Prefect work pool as its own flow run, for the workers on
    the GPU hosts to take; none: the cells run here, one after another."""

    retry_errors: bool = False
    """On resume, run again the trials that ended as ``error`` (their old runs stay)."""
