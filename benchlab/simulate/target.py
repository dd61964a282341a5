"""One target's trials: its engine up once, trials through it up to its slots, each
recorded the moment it ends."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path

from benchlab.agents.base import Harness
from benchlab.engine.counters import read_counters, token_delta
from benchlab.errors import BenchlabError
from benchlab.gateway import Gateway
from benchlab.results import AgentRun, EngineInfo, TrialResult, TrialStatus
from benchlab.sandbox.base import Sandbox
from benchlab.settings import Settings
from benchlab.simulate.engines import Upstream, failure_reason, model_params, open_upstream
from benchlab.simulate.plan import SimulationPlan, Target, TrialKey
from benchlab.simulate.sandboxes import SandboxChoice
from benchlab.trial import TrialSpec, error_result, run_trial

Record = Callable[[TrialResult], None]

MAX_STARTS = 2
"""Starts of a target's engine: a server that dies is restarted once for the trials
it had not begun; the trials it was serving end as ``error``."""

log = logging.getLogger(__name__)


class MissingHarness:
    """Stands in for an agent that could not be installed, so its trials are recorded."""

    def __init__(self, name: str, reason: str) -> None:
        self.name, self.version, self.reason = name, "", reason

    def install(self, root: Path) -> None:
        """Nothing to install: it failed already."""

    def install_paths(self) -> tuple[Path, ...]:
        """No install."""
        return ()

    def run(self, *args: object, **kwargs: object) -> AgentRun:
        """Report the install failure as the agent's error."""
        return AgentRun(harness=self.name, version="", exit_code=None, error=self.reason)


def _spec(
    plan: SimulationPlan,
    target: Target,
    key: TrialKey,
    upstream: Upstream | None,
    sandbox: Sandbox,
    default_stuck_after_s: float,
) -> TrialSpec:
    task = plan.task(key.task)
    # The run's setting wins, then the task's own, then the default from settings.
    stuck = plan.request.stuck_after_s or task.stuck_after_s or default_stuck_after_s
    return TrialSpec(
        task=task,
        task_dir=plan.task_dir,
        model=target.model.name,
        upstream_base_url=upstream.base_url if upstream else "",
        model_alias=upstream.alias if upstream else target.model.name,
        context_window=upstream.context_window if upstream else 0,
        quant=target.quant,
        cell=target.id,
        sweep=plan.sweep_id,
        repeat=key.repeat,
        engine=upstream.info if upstream else None,
        params=model_params(target),
        api_key=upstream.api_key if upstream else None,
        key=key.text,
        seed=key.seed,
        sandbox=sandbox,
        stuck_after_s=stuck,
    )


class TargetRun:
    """The trials of one target: its engine started (and restarted once if it dies),
    its trials run through one gateway up to the engine's slots, each recorded once."""

    def __init__(
        self,
        settings: Settings,
        plan: SimulationPlan,
        target: Target,
        *,
        agents: Mapping[str, Harness],
        sandbox: SandboxChoice,
        record: Record,
    ) -> None:
        self.settings, self.plan, self.target = settings, plan, target
        self.agents, self.sandbox, self.record = agents, sandbox, record
        self.stuck = settings.stuck_after_s
        self.trials_dir = settings.state_dir / "trials" / plan.sweep_id
        self.pending: list[TrialKey] = []
        self.results: list[TrialResult] = []

    def finish(self, result: TrialResult) -> None:
        """Record a result and take its trial off the pending list."""
        self.record(result)
        self.results.append(result)
        self.pending = [k for k in self.pending if k.text != result.key]

    def fail_pending(self, reason: str) -> None:
        """Record every pending trial as an error with ``reason``."""
        for key in list(self.pending):
            spec = _spec(self.plan, self.target, key, None, self.sandbox.make(0), self.stuck)
            self.finish(error_result(spec, self.agents[key.agent], reason, time.time_ns()))

    def run(
        self, keys: list[TrialKey], model_file: Path | None, staging_error: str | None
    ) -> list[TrialResult]:
        """Run ``keys``; never raises for a trial's or the engine's failure."""
        self.pending = list(keys)
        if staging_error is not None:
            self.fail_pending(f"model: {staging_error}")
        for start in range(MAX_STARTS):
            if not self.pending:
                break
            if start:
                log.warning("engine of %s died; restarting it", self.target.label)
            try:
                with (
                    open_upstream(self.settings, self.plan, self.target, model_file) as upstream,
                    Gateway() as gateway,
                ):
                    self.serve(upstream, gateway, self.sandbox.make(gateway.port))
            except BenchlabError as exc:
                self.fail_pending(f"engine: {failure_reason(exc)}")
            except Exception as exc:  # a bug in starting the engine must not lose its trials
                self.fail_pending(f"engine: {type(exc).__name__}: {failure_reason(exc)}")
        self.fail_pending(f"engine: the server died {MAX_STARTS} times")
        return self.results

    def serve(self, upstream: Upstream, gateway: Gateway, box: Sandbox) -> None:
        """Run the pending trials on a live engine; those it cannot begin stay pending."""

        def one(key: TrialKey) -> TrialResult | None:
            harness = self.agents[key.agent]
            spec = _spec(self.plan, self.target, key, upstream, box, self.stuck)
            start_ns = time.time_ns()
            if isinstance(harness, MissingHarness):
                return error_result(spec, harness, harness.reason, start_ns)
            if not upstream.alive():
                return None  # left for the restarted engine
            try:
                return _run_one(spec, harness, gateway, upstream, self.trials_dir)
            except Exception as exc:  # one trial's failure never loses it
                return error_result(spec, harness, f"{type(exc).__name__}: {exc}", start_ns)

        with ThreadPoolExecutor(self.target.slots, thread_name_prefix="trial") as pool:
            futures: list[Future[TrialResult | None]] = [
                pool.submit(one, key) for key in self.pending
            ]
            # Recorded here, in one thread, the moment each ends.
            for future in as_completed(futures):
                result = future.result()
                if result is not None:
                    self.finish(_died(result, upstream))


def run_target(
    settings: Settings,
    plan: SimulationPlan,
    target: Target,
    keys: list[TrialKey],
    *,
    agents: Mapping[str, Harness],
    sandbox: SandboxChoice,
    model_file: Path | None,
    record: Record,
    staging_error: str | None = None,
) -> list[TrialResult]:
    """Run ``keys`` on ``target`` and ``record`` each result as soon as it exists.

    Never raises for a trial's or the engine's failure: an engine that does not start
    gives ``error`` records for its trials; one that dies is restarted once for the
    trials it had not begun, and the sweep goes on with the next target.
    """
    runner = TargetRun(settings, plan, target, agents=agents, sandbox=sandbox, record=record)
    return runner.run(keys, model_file, staging_error)


def _run_one(
    spec: TrialSpec, harness: Harness, gateway: Gateway, upstream: Upstream, trials_dir: Path
) -> TrialResult:
    counted = spec.engine is not None and spec.engine.kind == "llama-server"
    # Counters are per server: exact for one trial only when it runs alone.
    alone = counted and spec.context_window > 0 and _slots(spec) == 1
    before = read_counters(upstream.base_url.removesuffix("/v1")) if alone else None
    result = run_trial(spec, gateway=gateway, harness=harness, trials_dir=trials_dir)
    return _with_engine(result, upstream, before)


def _slots(spec: TrialSpec) -> int:
    return int(spec.params.get("engine.parallel", "1"))


def _with_engine(
    result: TrialResult, upstream: Upstream, before: dict[str, float] | None
) -> TrialResult:
    info: EngineInfo = upstream.engine_now()
    if before is not None and upstream.alive():
        try:
            counted = token_delta(before, read_counters(upstream.base_url.removesuffix("/v1")))
        except BenchlabError:
            counted = {}
        info = info.model_copy(
            update={
                "counted_prompt_tokens": counted.get("prompt_tokens"),
                "counted_output_tokens": counted.get("predicted_tokens"),
            }
        )
    return result.model_copy(update={"engine": info})


def _died(result: TrialResult, upstream: Upstream) -> TrialResult:
    """A trial whose engine died under it is an error, whatever its agent made of it;
    the reason names the engine first, as the cause of what the agent reported."""
    failed_calls = any(c.error for c in result.calls)
    if upstream.alive() or not failed_calls:
        return result
    reason = "engine: the server died during the trial"
    if result.reason:
        reason += f"; {result.reason}"
    return result.model_copy(update={"status": TrialStatus.error, "reason": reason})
