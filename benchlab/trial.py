"""One trial: workspace, agent through the gateway, diff, checks; never lost.

Every step that can fail is caught and turned into the trial's status and reason,
so a started trial always ends as a :class:`TrialResult` that can be logged.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from benchlab import protect
from benchlab.agents.base import AgentEndpoint, Harness
from benchlab.agents.runner import StopSignal, stop_on
from benchlab.checks import run_checks
from benchlab.config.tasks import TaskSpec
from benchlab.engine.contention import LoadSampler, port_of
from benchlab.errors import BenchlabError
from benchlab.gateway import Gateway, Limits
from benchlab.gitdiff import diff as workspace_diff
from benchlab.results import (
    AgentRun,
    CheckResult,
    DiffResult,
    EngineInfo,
    HostLoad,
    ModelCall,
    TrialResult,
    TrialStatus,
)
from benchlab.sandbox.base import Sandbox
from benchlab.sandbox.local import LocalSandbox
from benchlab.services.guardian import mark_running, unmark_running
from benchlab.watchdog import StuckWatch
from benchlab.workspace import prepare_workspace

DEFAULT_STUCK_AFTER_S = 300.0
"""Idle time (no model call, no workspace change) after which a trial is ended."""


@dataclass(frozen=True)
class TrialSpec:
    """What to run: a task on a model behind an upstream endpoint, with one harness."""

    task: TaskSpec
    task_dir: Path
    model: str
    upstream_base_url: str
    """The engine's (or provider's) OpenAI-compatible base URL, ending in /v1."""
    model_alias: str
    """The model name the upstream expects."""
    context_window: int
    quant: str = ""
    cell: str = ""
    sweep: str = ""
    repeat: int = 0
    engine: EngineInfo | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    api_key: str | None = None
    """Upstream API key; held by the gateway, never given to the agent."""
    key: str = ""
    """The trial's identity in its sweep (see :mod:`benchlab.simulate.plan`)."""
    seed: int | None = None
    """Sampling seed of this repeat, set by the gateway on calls that give none."""
    sandbox: Sandbox | None = None
    """Where the agent's tools and the checks run; the local sandbox when None."""
    stuck_after_s: float | None = None
    """Idle time that ends the trial as ``timeout``; the task's, else the default."""


def new_trial_id() -> str:
    """A short unique trial id, also used as the gateway route."""
    return uuid.uuid4().hex[:12]


def _status(
    agent: AgentRun | None,
    calls: list[ModelCall],
    checks: tuple[CheckResult, ...],
    max_output_tokens: int,
    *,
    stop: StopSignal,
    tampered: tuple[str, ...],
) -> tuple[TrialStatus, str]:
    if agent is None:
        return TrialStatus.error, "agent did not run"
    if stop.is_set():
        return TrialStatus.timeout, stop.reason or "agent stopped"
    if agent.stopped_by == "timeout":
        return TrialStatus.timeout, "agent stopped at the time limit"
    # Before the agent's own error: an agent refused by the gateway reports that as one.
    limited = next((c.stopped_by for c in calls if c.stopped_by), None)
    if limited:
        return TrialStatus.limit, f"gateway limit reached: {limited}"
    spent = sum(c.usage.completion_tokens for c in calls)
    if calls and spent >= max_output_tokens and calls[-1].finish_reason == "length":
        return TrialStatus.limit, f"output tokens spent: {spent} of {max_output_tokens}"
    if agent.error:
        return TrialStatus.error, agent.error
    failed = [c.name for c in checks if not c.passed]
    if failed:
        return TrialStatus.failed, f"checks failed: {', '.join(failed)}"
    if tampered:
        return TrialStatus.failed, f"tampered with protected paths: {', '.join(tampered)}"
    return TrialStatus.passed, ""


def run_trial(
    spec: TrialSpec,
    *,
    gateway: Gateway,
    harness: Harness,
    trials_dir: Path,
    trial_id: str | None = None,
    keep_workspace: bool = False,
) -> TrialResult:
    """Run one trial and return its result; failures become its status, never exceptions."""
    trial_id = trial_id or new_trial_id()
    trial_dir = trials_dir / trial_id
    trial_dir.mkdir(parents=True, exist_ok=True)
    # Found by the run's guardian if benchlab dies meanwhile: the trial is marked unfinished.
    mark_running(trial_dir)
    task = spec.task
    sandbox = spec.sandbox or LocalSandbox()
    start_ns = time.time_ns()
    agent: AgentRun | None = None
    calls: list[ModelCall] = []
    diff: DiffResult | None = None
    checks: tuple[CheckResult, ...] = ()
    tampered: tuple[str, ...] = ()
    status = TrialStatus.error
    reason = "trial did not finish"
    workspace = None
    stop = StopSignal()
    # The host's load beside the trial: its speed figures say whether they ran alone.
    load = LoadSampler(own_port=port_of(spec.upstream_base_url)).start()
    try:
        workspace = prepare_workspace(task, spec.task_dir, parent=trial_dir)
        route = gateway.open_route(
            trial_id,
            upstream_base_url=spec.upstream_base_url,
            model_alias=spec.model_alias,
            api_key=spec.api_key,
            limits=Limits(
                max_turns=task.limits.max_turns,
                max_output_tokens=task.limits.max_output_tokens,
                max_wall_s=task.limits.timeout_s,
            ),
        )
        with sandbox.session(
            trial_dir, workspace.path, readonly=harness.install_paths()
        ) as session:
            try:
                endpoint = AgentEndpoint(
                    base_url=route,
                    model=spec.model_alias,
                    context_window=spec.context_window,
                    max_output_tokens=min(task.limits.max_output_tokens, spec.context_window // 2),
                )
                stuck_after = spec.stuck_after_s or task.stuck_after_s or DEFAULT_STUCK_AFTER_S
                activity = _route_activity(gateway, trial_id)
                with stop_on(stop), StuckWatch(stop, workspace.path, activity, stuck_after):
                    agent = harness.run(
                        workspace.path,
                        trial_dir / "agent",
                        endpoint,
                        task.rendered_prompt(),
                        task.system_prompt,
                        task.limits.timeout_s,
                        sandbox=session,
                    )
            finally:
                calls = gateway.close_route(trial_id)
            diff = workspace_diff(workspace.path, workspace.start_commit, task.allowed_paths)
            tampered = protect.touched(diff.files, task.protected_paths)
            protect.restore(workspace.path, workspace.start_commit, task.protected_paths)
            checks = run_checks(
                task.checks, workspace.path, log_dir=trial_dir / "checks", sandbox=session
            )
        status, reason = _status(
            agent,
            calls,
            checks,
            task.limits.max_output_tokens,
            stop=stop,
            tampered=tampered,
        )
    except BenchlabError as exc:
        status, reason = (
            TrialStatus.error,
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        )
    except Exception as exc:  # a bug in one trial must not lose it or the others
        status, reason = TrialStatus.error, f"{type(exc).__name__}: {exc}"
    finally:
        load.stop()
        if workspace is not None and not keep_workspace:
            workspace.remove()
        unmark_running(trial_dir)
    return _result(
        spec,
        harness,
        trial_id=trial_id,
        status=status,
        reason=reason,
        start_ns=start_ns,
        base_commit=workspace.base_commit if workspace else "",
        agent=agent,
        calls=tuple(calls),
        diff=diff,
        checks=checks,
        tampered=tampered,
        host_load=load.result(),
    )


def _route_activity(gateway: Gateway, trial_id: str) -> Callable[[], Hashable]:
    recorder = gateway.recorder(trial_id)

    def activity() -> Hashable:
        calls, in_flight = recorder.activity()
        # A call in flight is activity however long the model takes.
        return (calls, time.monotonic()) if in_flight else (calls, 0.0)

    return activity


def error_result(spec: TrialSpec, harness: Harness, reason: str, start_ns: int) -> TrialResult:
    """The record of a trial that could not run at all (its engine did not start, say)."""
    return _result(
        spec,
        harness,
        trial_id=new_trial_id(),
        status=TrialStatus.error,
        reason=reason,
        start_ns=start_ns,
        base_commit="",
    )


def _result(
    spec: TrialSpec,
    harness: Harness,
    *,
    trial_id: str,
    status: TrialStatus,
    reason: str,
    start_ns: int,
    base_commit: str,
    agent: AgentRun | None = None,
    calls: tuple[ModelCall, ...] = (),
    diff: DiffResult | None = None,
    checks: tuple[CheckResult, ...] = (),
    tampered: tuple[str, ...] = (),
    host_load: HostLoad | None = None,
) -> TrialResult:
    task = spec.task
    repository = task.repository.url or task.repository.path or ""
    return TrialResult(
        trial_id=trial_id,
        task=task.name,
        archetype=task.archetype.value,
        model=spec.model,
        quant=spec.quant,
        cell=spec.cell,
        sweep=spec.sweep,
        repeat=spec.repeat,
        key=spec.key,
        seed=spec.seed,
        sandbox=(spec.sandbox or LocalSandbox()).name,
        tampered=tampered,
        harness=harness.name,
        status=status,
        reason=reason,
        prompt=task.rendered_prompt(),
        repository=repository,
        start_ns=start_ns,
        end_ns=time.time_ns(),
        agent=agent,
        calls=calls,
        diff=diff,
        checks=checks,
        engine=spec.engine,
        host_load=host_load,
        params={
            **spec.params,
            "task.name": task.name,
            "task.archetype": task.archetype.value,
            "task.repository": repository,
            "task.ref": task.repository.ref,
            "task.base_commit": base_commit,
            "agent.harness": harness.name,
            "agent.version": harness.version,
            "limits.max_turns": str(task.limits.max_turns),
            "limits.max_output_tokens": str(task.limits.max_output_tokens),
            "limits.timeout_s": str(task.limits.timeout_s),
        },
    )
