"""``benchlab evaluate``: a curated dataset version scored by the judges and graders."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from benchlab.errors import UsageError
from benchlab.evaluate.request import EvaluateRequest, EvaluateResult
from benchlab.settings import Settings
from benchlab.tracking import tracking_uri

DatasetOpt = Annotated[
    str, typer.Option("--dataset", "-d", help="NAME (its latest version) or NAME@VERSION.")
]
JudgeOpt = Annotated[
    list[str] | None,
    typer.Option("--judge", "-j", help="Only this criterion; repeatable.", show_default=False),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(help="Judge endpoint (OpenAI-compatible); default BENCHLAB_JUDGE_BASE_URL, "
                 "else a local llama-server.", show_default=False),
]  # fmt: skip
ModelOpt = Annotated[
    str | None, typer.Option(help="Model name sent to the judge endpoint.", show_default=False)
]
ParallelOpt = Annotated[int, typer.Option(help="Judge calls at once.")]
ForceOpt = Annotated[bool, typer.Option(help="Score again even if evaluated before.")]


def evaluate(
    dataset: DatasetOpt,
    judge: JudgeOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    parallel: ParallelOpt = 2,
    force: ForceOpt = False,
) -> None:
    """Score a curated dataset version: each score an assessment on its trace and a
    metric of its trial's run, the aggregates on one evaluation run."""
    try:
        request = EvaluateRequest(
            dataset=dataset, only=tuple(judge or ()), base_url=base_url, model=model,
            parallel=parallel, force=force,
        )  # fmt: skip
    except ValidationError as exc:
        first = exc.errors()[0]
        flag = {"only": "judge"}.get(str(first["loc"][0]), str(first["loc"][0]))
        raise UsageError(f"--{flag.replace('_', '-')}: {first['msg']}") from None
    settings = Settings()
    from benchlab.orchestration import configure_prefect

    configure_prefect(settings)
    from flows.evaluate import evaluate as evaluate_flow

    print_result(Console(), settings, evaluate_flow(request, settings))


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_result(console: Console, settings: Settings, result: EvaluateResult) -> None:
    """Mean per criterion overall and per model/config, unscored counts, the run."""
    configs = sorted(result.by_config)
    table = Table(title=f"evaluation of [bold]{result.dataset}[/bold] ({result.records} records)")
    table.add_column("criterion")
    table.add_column("mean", justify="right")
    table.add_column("unscored", justify="right")
    for config in configs:
        table.add_column(config, justify="right")
    for metric, summary in result.criteria.items():
        per_config = [_fmt(result.by_config[c].get(metric)) for c in configs]
        table.add_row(metric, _fmt(summary.mean), str(summary.unscored), *per_config)
    console.print(table)
    tokens = (
        f"{result.prompt_tokens} prompt + {result.completion_tokens} completion"
        if result.prompt_tokens is not None
        else "not reported by the endpoint"
    )
    facts = Table(show_header=False)
    facts.add_row(
        "evaluation run", result.run_id + ("  (reused: nothing scored)" if result.reused else "")
    )
    facts.add_row(
        "judge calls",
        f"{result.judge_calls} in {result.judge_time_s:.1f} s of calls, {result.wall_s:.1f} s wall",
    )
    facts.add_row("judge tokens", tokens)
    facts.add_row("judges", ", ".join(f"{k}@{v}" for k, v in result.judges.items()))
    facts.add_row("MLflow", tracking_uri(settings))
    console.print(facts)
