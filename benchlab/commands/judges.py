"""``benchlab judges``: list, compile and calibrate the rubric judges."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

import judges as judges_package
from benchlab.errors import UsageError, unknown_name
from benchlab.settings import Settings

if TYPE_CHECKING:
    from benchlab.scoring.endpoint import JudgeEndpoint

JUDGES_DIR = Path(judges_package.__file__).resolve().parent
"""The shipped rubrics, labelled data and compiled judges."""

app = typer.Typer(help="The rubric judges: compile and calibrate.", no_args_is_help=True)
out = Console()

JudgeOpt = Annotated[
    list[str] | None,
    typer.Option("--judge", "-j", help="Judge to work on; repeatable.", show_default="all"),
]
DirOpt = Annotated[
    Path, typer.Option("--judges-dir", help="Directory with rubrics/, data/ and compiled/.")
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option("--base-url", help="Judge endpoint.", show_default="BENCHLAB_JUDGE_BASE_URL"),
]
ModelOpt = Annotated[
    str | None,
    typer.Option("--model", help="Judge model name.", show_default="BENCHLAB_JUDGE_MODEL"),
]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds per judge call.")]
ParallelOpt = Annotated[int, typer.Option("--parallel", help="Judge calls at once.", min=1)]


def _endpoint(
    base_url: str | None, model: str | None, timeout: float, parallel: int
) -> JudgeEndpoint:
    from benchlab.scoring.endpoint import JudgeEndpoint

    settings = Settings()
    url = base_url or settings.judge_base_url
    if not url:
        raise UsageError("no judge endpoint: set BENCHLAB_JUDGE_BASE_URL or pass --base-url")
    return JudgeEndpoint(
        base_url=url,
        model=model or settings.judge_model,
        api_key=settings.judge_api_key,
        timeout_s=timeout,
        parallelism=parallel,
    )


def _judges(names: list[str] | None) -> list[str]:
    from benchlab.scoring.programs import JUDGE_SIGNATURES

    for name in names or ():
        if name not in JUDGE_SIGNATURES:
            raise unknown_name("judge", name, list(JUDGE_SIGNATURES))
    return list(names or JUDGE_SIGNATURES)


@app.command("list")
def list_judges(judges_dir: DirOpt = JUDGES_DIR) -> None:
    """List the judges, their labelled examples and whether each is compiled."""
    from benchlab.scoring.examples import load_examples
    from benchlab.scoring.programs import JUDGE_SIGNATURES, load_judge
    from benchlab.scoring.rubrics import load_rubrics

    examples = load_examples(judges_dir / "data", load_rubrics(judges_dir / "rubrics"))
    table = Table(title=f"judges in {judges_dir}")
    for column in ("judge", "train", "held out", "version", "optimizer", "train score"):
        table.add_column(column)
    for name in JUDGE_SIGNATURES:
        judge = load_judge(name, judges_dir / "compiled")
        mine = [e for e in examples if e.judge == name]
        train = sum(e.split.value == "train" for e in mine)
        score = judge.metadata.get("train_score")
        table.add_row(
            name,
            str(train),
            str(len(mine) - train),
            judge.version,
            str(judge.metadata.get("optimizer", "-")),
            f"{score:.2f}" if isinstance(score, float) else "-",
        )
    out.print(table)


@app.command("compile")
def compile_command(
    optimizer: Annotated[str, typer.Option(help="bootstrap, mipro or gepa.")] = "bootstrap",
    judge: JudgeOpt = None,
    judges_dir: DirOpt = JUDGES_DIR,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    timeout: TimeoutOpt = 120.0,
    parallel: ParallelOpt = 2,
    feedback_experiment: Annotated[
        str | None,
        typer.Option(
            help="Also train on human feedback in this MLflow experiment.", show_default=False
        ),
    ] = None,
    records: Annotated[
        Path | None,
        typer.Option(
            help="Curated records (JSON lines) the feedback's traces are joined with.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Train each judge on its labelled examples and save it under compiled/."""
    from benchlab.scoring.compile import Optimizer, compile_judge
    from benchlab.scoring.examples import load_examples
    from benchlab.scoring.rubrics import load_rubrics

    if optimizer not in Optimizer.__members__:
        raise unknown_name("optimizer", optimizer, list(Optimizer.__members__))
    if (feedback_experiment is None) != (records is None):
        raise UsageError("--feedback-experiment and --records go together")
    names = _judges(judge)
    endpoint = _endpoint(base_url, model, timeout, parallel)
    rubrics = load_rubrics(judges_dir / "rubrics")
    examples = load_examples(judges_dir / "data", rubrics)
    if feedback_experiment is not None and records is not None:
        examples += _feedback(feedback_experiment, records, names, rubrics)
    for name in names:
        result = compile_judge(
            name, examples, endpoint, Optimizer(optimizer), judges_dir / "compiled"
        )
        meta = result.metadata
        out.print(
            f"[green]compiled[/green] {name}: {meta['trainset_size']} examples, "
            f"train score {meta['train_score']:.2f} ({meta['train_unscored']} unscored) "
            f"-> {result.path}"
        )


def _feedback(experiment: str, records: Path, names: list[str], rubrics: dict) -> list:  # type: ignore[type-arg]
    import mlflow

    from benchlab.scoring.examples import load_json_lines, resolved
    from benchlab.scoring.feedback import feedback_examples, human_labels
    from benchlab.tracking import setup_tracking

    setup_tracking(Settings())
    found = mlflow.get_experiment_by_name(experiment)
    if found is None:
        raise UsageError(f"no MLflow experiment named {experiment!r}")
    rows = load_json_lines(records)
    extra = []
    for name in names:
        labels = human_labels(str(found.experiment_id), name)
        extra += [resolved(e, rubrics) for e in feedback_examples(name, labels, rows)]  # type: ignore[arg-type]
    out.print(f"{len(extra)} examples from human feedback in {experiment!r}")
    return extra


@app.command("calibrate")
def calibrate_command(
    judge: JudgeOpt = None,
    judges_dir: DirOpt = JUDGES_DIR,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    timeout: TimeoutOpt = 120.0,
    parallel: ParallelOpt = 2,
) -> None:
    """Agreement with held-out human labels, plain and compiled; logged to MLflow."""
    from benchlab.scoring.calibrate import calibrate, calibration_table, log_calibration
    from benchlab.scoring.examples import load_examples
    from benchlab.scoring.rubrics import load_rubrics
    from benchlab.tracking import setup_tracking

    names = _judges(judge)
    endpoint = _endpoint(base_url, model, timeout, parallel)
    examples = load_examples(judges_dir / "data", load_rubrics(judges_dir / "rubrics"))
    rows = calibrate(names, examples, endpoint, judges_dir / "compiled")
    out.print(calibration_table(rows, endpoint.model))
    experiment_id = setup_tracking(Settings())
    run_id = log_calibration(rows, endpoint.model, experiment_id)
    out.print(f"logged to MLflow run {run_id}")
