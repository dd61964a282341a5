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
from benchlab.simulate.engines import Upstream, model_params, open_upstream
from benchlab.simulate.plan import SimulationPlan, Target, TrialKey
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
    stuck_after_s: float,
) -> TrialSpec:
    return TrialSpec(
        task=plan.task(key.task),
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
        stuck_after_s=stuck_after_s,
    )


def run_target(
    settings: Settings,
    plan: SimulationPlan,
    target: Target,
    keys: list[TrialKey],
    *,
    agents: Mapping[str, Harness],
    sandbox: Sandbox,
    model_file: Path | None,
    record: Record,
    staging_error: str | None = None,
) -> list[TrialResult]:
    """Run ``keys`` on ``target`` and ``record`` each result as soon as it exists.

    Never raises for a trial's or the engine's failure: an engine that does not start
    or dies gives ``error`` records for the trials it could not serve, and the sweep
    goes on with the next target.
    """
    results: list[TrialResult] = []
    pending = list(keys)
    stuck = plan.request.stuck_after_s or settings.stuck_after_s

    def finish(result: TrialResult) -> None:
        record(result)
        results.append(result)
        pending[:] = [k for k in pending if k.text != result.key]

    def fail_pending(reason: str) -> None:
        for key in list(pending):
            harness = agents[key.agent]
            spec = _spec(plan, target, key, None, sandbox, stuck)
            finish(error_result(spec, harness, reason, time.time_ns()))

    if not pending:
        return results
    if staging_error is not None:
        fail_pending(f"model: {staging_error}")
        return results
    trials_dir = settings.state_dir / "trials" / plan.sweep_id
    for start in range(MAX_STARTS):
        if not pending:
            return results
        try:
            with (
                open_upstream(settings, plan, target, model_file) as upstream,
                Gateway() as gateway,
            ):

                def one(key: TrialKey) -> TrialResult | None:
                    harness = agents[key.agent]
                    spec = _spec(plan, target, key, upstream, sandbox, stuck)
                    start_ns = time.time_ns()
                    if isinstance(harness, MissingHarness):
                        return error_result(spec, harness, harness.reason, start_ns)
                    if not upstream.alive():
                        return None  # left for the restarted engine
                    try:
                        return _run_one(spec, harness, gateway, upstream, trials_dir)
                    except Exception as exc:  # one trial's failure never loses it
                        reason = f"{type(exc).__name__}: {exc}"
                        return error_result(spec, harness, reason, start_ns)

                with ThreadPoolExecutor(target.slots, thread_name_prefix="trial") as pool:
                    futures: dict[Future[TrialResult | None], TrialKey] = {
                        pool.submit(one, key): key for key in pending
                    }
                    for future in as_completed(futures):
                        result = future.result()
                        if result is not None:
                            finish(_died(result, upstream))
        except BenchlabError as exc:
            fail_pending(f"engine: {str(exc).splitlines()[0]}")
        if pending and start + 1 < MAX_STARTS:
            log.warning(
                "engine of %s died; restarting it for %d trials", target.label, len(pending)
            )
    fail_pending(f"engine: the server died {MAX_STARTS} times")
    return results


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
    """A trial whose engine died under it is an error, whatever its agent made of it."""
    failed_calls = any(c.error for c in result.calls)
    if upstream.alive() or result.status == TrialStatus.error or not failed_calls:
        return result
    return result.model_copy(
        update={"status": TrialStatus.error, "reason": "engine: the server died during the trial"}
    )
