"""Compiling a judge: a DSPy optimizer trained on labelled examples, saved with metadata."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import dspy

from benchlab.errors import BenchlabError
from benchlab.scoring.endpoint import JudgeEndpoint, judge_lm
from benchlab.scoring.examples import LabelledExample, Split, as_dspy, dataset_sha256
from benchlab.scoring.judged_examples import (
    METRIC_NAME,
    feedback_metric,
    judge_examples,
    judge_metric,
    mean_metric,
)
from benchlab.scoring.programs import LoadedJudge, compiled_path, plain_judge
from benchlab.scoring.structured import ConstrainedJSONAdapter


class Optimizer(StrEnum):
    """The DSPy optimizers a judge can be compiled with."""

    bootstrap = "bootstrap"
    mipro = "mipro"
    gepa = "gepa"


@dataclass(frozen=True)
class CompileResult:
    """What compiling one judge produced."""

    judge: str
    path: Path
    metadata: dict[str, Any]


def make_optimizer(kind: Optimizer, lm: dspy.LM, trainset_size: int, parallelism: int) -> Any:
    """The configured DSPy optimizer; MIPRO and GEPA use the judge model to propose prompts."""
    if kind is Optimizer.bootstrap:
        return dspy.BootstrapFewShot(
            metric=judge_metric,
            max_bootstrapped_demos=4,
            max_labeled_demos=4,
            # A tiny judge model fails often; failures must not abort compiling.
            max_errors=trainset_size + 1,
        )
    if kind is Optimizer.mipro:
        return dspy.MIPROv2(
            metric=judge_metric, prompt_model=lm, task_model=lm, auto="light",
            num_threads=parallelism,
        )  # fmt: skip
    return dspy.GEPA(
        metric=feedback_metric, reflection_lm=lm, auto="light", num_threads=parallelism
    )


def training_set(judge: str, examples: list[LabelledExample]) -> list[LabelledExample]:
    """The examples a judge trains on: its own, from the training split."""
    return [e for e in examples if e.judge == judge and e.split is Split.train]


def compile_judge(
    judge: str,
    examples: list[LabelledExample],
    endpoint: JudgeEndpoint,
    optimizer: Optimizer,
    compiled_dir: Path,
) -> CompileResult:
    """Train ``judge`` on its training examples and save it to ``compiled_dir/<judge>.json``.

    Raises:
        BenchlabError: The judge has no training examples.
    """
    train = training_set(judge, examples)
    if not train:
        raise BenchlabError(f"no training examples for judge {judge!r}")
    lm = judge_lm(endpoint)
    adapter = ConstrainedJSONAdapter(endpoint.max_rationale_chars)
    plain = plain_judge(judge)
    with dspy.context(lm=lm, adapter=adapter):
        program = make_optimizer(optimizer, lm, len(train), endpoint.parallelism).compile(
            plain.program, trainset=[as_dspy(e) for e in train]
        )
    trained = LoadedJudge(judge, program, "training", compiled=True)
    scores = judge_examples(trained, train, lm, adapter, endpoint.parallelism)
    metadata = {
        "judge": judge,
        "judge_model": endpoint.model,
        "optimizer": optimizer.value,
        "trainset_sha256": dataset_sha256(train),
        "trainset_size": len(train),
        "train_metric": METRIC_NAME,
        "train_score": mean_metric(train, scores),
        "train_unscored": sum(s.could_not_score for s in scores),
        "signature_version": plain.version,
        "dspy_version": dspy.__version__,
        "compiled_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path = compiled_path(compiled_dir, judge)
    compiled_dir.mkdir(parents=True, exist_ok=True)
    state = {"metadata": metadata, "program": program.dump_state()}
    partial = path.with_suffix(".json.part")
    partial.write_text(json.dumps(state, indent=2, sort_keys=True, default=str) + "\n")
    partial.replace(path)
    return CompileResult(judge, path, metadata)
