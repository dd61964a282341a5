"""What the demo prints at the end: what happened, where it is, how to look at it."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchlab.metrics import metrics_for
from benchlab.results import TrialResult
from benchlab.settings import Settings
from benchlab.tracing import LoggedTrial
from benchlab.tracking import tracking_uri


def benchlab_command() -> str:
    """How to run benchlab from a shell, as a line that works when pasted: the
    environment's own script (``make`` puts uv in ``~/.local/bin``, often not on PATH)."""
    script = Path(sys.executable).parent / "benchlab"
    if script.is_file():
        return shlex.quote(str(script))
    return "uv run benchlab"


def token_accounting(result: TrialResult) -> tuple[bool | None, str]:
    """Whether the trace's token counts agree with the server's own counters.

    Returns:
        True or False with the figures; None when there is nothing to compare: no model
        call was made (an engine that never answered, an agent that never called).
    """
    engine = result.engine
    if not result.calls:
        return None, "no model call was made; nothing to compare"
    if engine is None or engine.counted_output_tokens is None:
        return False, "server counters not read"
    processed = sum(int(c.timings.get("prompt_n", 0)) for c in result.calls)
    ok = (
        result.output_tokens == engine.counted_output_tokens
        and processed == engine.counted_prompt_tokens
    )
    text = (
        f"trace: {result.input_tokens} in ({processed} processed, rest from the prompt cache), "
        f"{result.output_tokens} out; llama-server counted {engine.counted_prompt_tokens} "
        f"processed, {engine.counted_output_tokens} generated"
    )
    return ok, text


def print_summary(
    console: Console, settings: Settings, result: TrialResult, logged: LoggedTrial
) -> bool | None:
    """A table of the trial and the commands to open MLflow and Prefect.

    Returns:
        Whether the trace's token counts agree with the server's own counters; None
        when no model call was made.
    """
    table = Table(title=f"trial {result.trial_id}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")
    status = result.status.value + (f" ({result.reason})" if result.reason else "")
    table.add_row("task / model", f"{result.task} / {result.model} {result.quant}")
    table.add_row("status", status)
    table.add_row("model calls", str(len(result.calls)))
    ok, accounting = token_accounting(result)
    mark = {True: "[green]match[/green]", False: "[red]MISMATCH[/red]", None: "n/a"}[ok]
    table.add_row("tokens", f"{mark}: {accounting}")
    if result.diff is not None:
        table.add_row(
            "diff",
            f"{result.diff.files_changed} files, +{result.diff.insertions} "
            f"-{result.diff.deletions}",
        )
    table.add_row(
        "checks", ", ".join(f"{c.name}: {'pass' if c.passed else 'fail'}" for c in result.checks)
    )
    table.add_row("wall time", f"{result.wall_s:.1f}s")
    # Two speeds, each named for what it is: the trial's own, and the probe's (a short
    # fixed prompt on an idle engine, before the trial); a reader must not take one for
    # the other.
    own = metrics_for(result)
    if "speed.tg_tps" in own or "ttft.p50_s" in own:
        parts = []
        if "speed.pp_tps" in own:
            parts.append(f"prompt {own['speed.pp_tps']:.0f} tok/s")
        if "speed.tg_tps" in own:
            parts.append(f"generation {own['speed.tg_tps']:.1f} tok/s")
        if "ttft.p50_s" in own:
            parts.append(f"first token {own['ttft.p50_s'] * 1000:.0f} ms (median)")
        table.add_row("trial speed", ", ".join(parts) + " (this trial's calls)")
    probe = result.engine.probe if result.engine else {}
    if probe:
        table.add_row(
            "probe speed",
            f"prompt {probe['probe.pp_tps']:.0f} tok/s, generation {probe['probe.tg_tps']:.1f} "
            f"tok/s, first token {probe['probe.ttft_s'] * 1000:.0f} ms (speed probe before "
            "the trial)",
        )
    table.add_row("MLflow run", f"{logged.run_id} (experiment {logged.experiment_id})")
    table.add_row("MLflow trace", logged.trace_id)
    table.add_row("tracking store", tracking_uri(settings))
    console.print(table)
    console.print("Open the results:")
    console.print(
        f"  Prefect and MLflow UIs:  {benchlab_command()} ui   "
        "(both URLs printed; Ctrl-C stops both)",
        markup=False,
        soft_wrap=True,
    )
    return ok
