"""Labelled judge examples: ``judges/data/*.jsonl``, one human judgment per line."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from pathlib import Path

import dspy
from pydantic import Field, ValidationError

from benchlab.config.base import Frozen
from benchlab.errors import ConfigError, Problem
from benchlab.scoring.programs import JUDGE_SIGNATURES
from benchlab.scoring.rubrics import Rubric


class Split(StrEnum):
    """Which use an example is reserved for."""

    train = "train"
    heldout = "heldout"


class LabelledExample(Frozen):
    """One record's output judged by a person on one criterion."""

    id: str = Field(min_length=1)
    """Stable identifier, unique across all files."""

    judge: str
    """The judge (judged quality) the label is for."""

    criterion: str | None = None
    """The criterion text; default the rubric's description of ``judge``."""

    task_prompt: str
    """What the agent was asked."""

    diff: str = ""
    """The agent's diff."""

    transcript: str = ""
    """The agent's trimmed session."""

    final_answer: str = ""
    """The agent's final message."""

    label: bool | int
    """The person's verdict: 1-5, or true/false for yes/no judges."""

    rationale: str = Field(min_length=1)
    """Why, in the person's words."""

    split: Split = Split.train
    """Training or held-out (calibration) use."""


def _criterion_text(example: LabelledExample, rubrics: dict[str, Rubric]) -> str | None:
    if example.criterion:
        return example.criterion
    for rubric in rubrics.values():
        for criterion in rubric.criteria:
            if criterion.name == example.judge:
                return f"{criterion.name}: {criterion.description}"
    return None


def resolved(example: LabelledExample, rubrics: dict[str, Rubric]) -> LabelledExample:
    """The example checked against its judge, its criterion text filled from the rubric.

    Raises:
        ValueError: Unknown judge, a label of the wrong kind, or no criterion text.
    """
    if example.judge not in JUDGE_SIGNATURES:
        raise ValueError(f"judge: unknown {example.judge!r}")
    boolean = "refused" in JUDGE_SIGNATURES[example.judge].output_fields
    if boolean != isinstance(example.label, bool) or (not boolean and not 1 <= example.label <= 5):
        raise ValueError("label: must be true/false for yes/no judges, else 1-5")
    criterion = _criterion_text(example, rubrics)
    if criterion is None:
        raise ValueError("criterion: required for a judge no rubric describes")
    return example.model_copy(update={"criterion": criterion})


def load_examples(data_dir: Path, rubrics: dict[str, Rubric]) -> list[LabelledExample]:
    """Every example in ``data_dir/*.jsonl``; all problems are reported together."""
    examples: list[LabelledExample] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for path in sorted(data_dir.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                example = resolved(LabelledExample.model_validate_json(line), rubrics)
            except (ValidationError, ValueError) as exc:
                message = str(exc).splitlines()[-1 if isinstance(exc, ValidationError) else 0]
                problems.append(Problem(str(path), number, "", message.strip()))
                continue
            if example.id in seen:
                problems.append(Problem(str(path), number, "id", f"{example.id!r} used twice"))
            seen.add(example.id)
            examples.append(example)
    if problems:
        raise ConfigError(problems)
    return examples


def as_dspy(example: LabelledExample) -> dspy.Example:
    """The example as DSPy trains on it: judge inputs plus the human verdict."""
    outputs: dict[str, object] = {"rationale": example.rationale}
    if isinstance(example.label, bool):
        outputs["refused"] = example.label
    else:
        outputs["score"] = example.label
    return dspy.Example(
        task_prompt=example.task_prompt,
        criterion=example.criterion or "",
        diff=example.diff or "(no changes)",
        transcript=example.transcript or "(none)",
        final_answer=example.final_answer or "(none)",
        **outputs,
    ).with_inputs("task_prompt", "criterion", "diff", "transcript", "final_answer")


def dataset_sha256(examples: list[LabelledExample]) -> str:
    """A hash of the examples' content, independent of their order."""
    lines = sorted(e.model_dump_json() for e in examples)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def load_json_lines(path: Path) -> list[dict[str, object]]:
    """Plain JSON lines (e.g. curated records), skipping blank lines."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
