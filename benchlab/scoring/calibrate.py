"""Calibration: each judge's agreement with held-out human labels, before and after compiling."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from benchlab.scoring.agreement import Agreement, agreement
from benchlab.scoring.endpoint import JudgeEndpoint, judge_lm
from benchlab.scoring.examples import LabelledExample, Split
from benchlab.scoring.judged_examples import judge_examples
from benchlab.scoring.programs import load_judge, plain_judge
from benchlab.scoring.structured import ConstrainedJSONAdapter


@dataclass(frozen=True)
class Calibration:
    """One judge's agreement with the held-out labels."""

    judge: str
    before: Agreement
    """The plain judge."""

    after: Agreement | None
    """The compiled judge; None when the judge is not compiled."""

    compiled_version: str | None = None


def calibrate(
    judges: list[str],
    examples: list[LabelledExample],
    endpoint: JudgeEndpoint,
    compiled_dir: Path,
) -> list[Calibration]:
    """Agreement of each judge with its held-out examples; judges without any are skipped."""
    lm = judge_lm(endpoint)
    adapter = ConstrainedJSONAdapter(endpoint.max_rationale_chars)
    rows: list[Calibration] = []
    for name in judges:
        heldout = [e for e in examples if e.judge == name and e.split is Split.heldout]
        if not heldout:
            continue
        human = [e.label for e in heldout]
        plain = plain_judge(name)
        before = judge_examples(plain, heldout, lm, adapter, endpoint.parallelism)
        compiled = load_judge(name, compiled_dir)
        after = None
        if compiled.compiled:
            scored = judge_examples(compiled, heldout, lm, adapter, endpoint.parallelism)
            after = agreement(human, [_label(s.value) for s in scored])
        rows.append(
            Calibration(
                name,
                agreement(human, [_label(s.value) for s in before]),
                after,
                compiled.version if compiled.compiled else None,
            )
        )
    return rows


def _label(value: bool | float | None) -> bool | int | None:
    return value if value is None or isinstance(value, bool) else round(value)


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def calibration_table(rows: list[Calibration], judge_model: str) -> Table:
    """The calibration as a rich table: one line per judge and stage."""
    table = Table(title=f"judge calibration on held-out labels (judge model {judge_model})")
    for column in ("judge", "stage", "examples", "unscored", "exact", "within one", "kappa"):
        table.add_column(column, justify="left" if column in ("judge", "stage") else "right")
    for row in rows:
        stages = [("plain", row.before)] + ([("compiled", row.after)] if row.after else [])
        for stage, result in stages:
            table.add_row(
                row.judge,
                stage,
                str(result.examples),
                str(result.unscored),
                _cell(result.exact),
                _cell(result.within_one),
                _cell(result.kappa),
            )
    return table


def log_calibration(rows: list[Calibration], judge_model: str, experiment_id: str) -> str:
    """Log the calibration as one MLflow run in ``experiment_id``; returns the run id."""
    import mlflow

    with mlflow.start_run(experiment_id=experiment_id, run_name="judge-calibration") as run:
        mlflow.set_tags({"stage": "calibrate", "judge_model": judge_model})
        mlflow.log_param("judge.model", judge_model)
        metrics: dict[str, float] = {}
        for row in rows:
            stages = [("plain", row.before)] + ([("compiled", row.after)] if row.after else [])
            for stage, result in stages:
                prefix = f"calibration.{row.judge}.{stage}"
                metrics[f"{prefix}.examples"] = result.examples
                metrics[f"{prefix}.unscored"] = result.unscored
                for name in ("exact", "within_one", "kappa"):
                    value = getattr(result, name)
                    if value is not None:
                        metrics[f"{prefix}.{name}"] = value
            if row.compiled_version:
                mlflow.set_tag(f"judge.{row.judge}.version", row.compiled_version)
        mlflow.log_metrics(metrics)
        return str(run.info.run_id)
