"""The judges and graders an evaluation applies, loaded once, shared by the scorers."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import dspy

import judges as judges_package
from benchlab.config.graders import GraderConfig
from benchlab.config.load import load_task
from benchlab.errors import UsageError
from benchlab.scoring.endpoint import JudgeEndpoint, judge_lm
from benchlab.scoring.programs import LoadedJudge, load_judge
from benchlab.scoring.rubrics import Criterion, CriterionKind, Rubric, criteria_for, load_rubrics
from benchlab.scoring.structured import ConstrainedJSONAdapter

JUDGES_DIR = Path(judges_package.__file__).resolve().parent
"""The shipped rubrics and compiled judges."""

GRADER_PREFIX = "grader_"
"""Scorer names of graders: ``grader_<name>``, apart from rubric criteria."""


def grader_key(config: GraderConfig) -> str:
    """The scorer name of a task's grader."""
    name = config.name or config.kind
    return GRADER_PREFIX + "".join(ch if ch.isalnum() else "_" for ch in name.lower())


def grader_version(config: GraderConfig) -> str:
    """A version that changes whenever the grader's configuration does."""
    return "grader-" + hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:12]


@dataclass(frozen=True)
class JudgeSet:
    """The rubrics, the judges the records need (compiled when saved), the graders."""

    rubrics: dict[str, Rubric]
    judges: dict[str, LoadedJudge]
    task_graders: dict[str, dict[str, GraderConfig]]
    only: frozenset[str] | None

    def criteria(self, record: dict[str, Any]) -> list[Criterion]:
        """The record's criteria this evaluation scores (cross-trial ones aside)."""
        return [
            c
            for c in criteria_for(record.get("expectations") or {}, self.rubrics)
            if c.kind is not CriterionKind.cross_trial
            and (self.only is None or c.name in self.only)
        ]

    def graders(self, record: dict[str, Any]) -> dict[str, GraderConfig]:
        """The graders of the record's task, by scorer name."""
        task = str((record.get("inputs") or {}).get("task", ""))
        found = self.task_graders.get(task, {})
        return {k: g for k, g in found.items() if self.only is None or k in self.only}

    def versions(self) -> dict[str, str]:
        """Each judge and grader used, with its version (compiled or plain)."""
        used = {name: judge.version for name, judge in self.judges.items()}
        for graders in self.task_graders.values():
            for key, config in graders.items():
                if self.only is None or key in self.only:
                    used[key] = grader_version(config)
        return dict(sorted(used.items()))


@dataclass(frozen=True)
class JudgeKit:
    """A judge set bound to the judge model: what each scorer calls."""

    judges: JudgeSet
    endpoint: JudgeEndpoint
    lm: dspy.LM
    adapter: dspy.Adapter
    gate: threading.BoundedSemaphore = field(repr=False)
    """Held by each judge call: no more than ``endpoint.parallelism`` at once, however
    many threads MLflow scores with."""

    @classmethod
    def bind(cls, judges: JudgeSet, endpoint: JudgeEndpoint) -> JudgeKit:
        """The judge set calling ``endpoint``."""
        return cls(
            judges=judges,
            endpoint=endpoint,
            lm=judge_lm(endpoint),
            adapter=ConstrainedJSONAdapter(endpoint.max_rationale_chars),
            gate=threading.BoundedSemaphore(endpoint.parallelism),
        )


def _task_graders(tasks_dir: Path, tasks: set[str]) -> dict[str, dict[str, GraderConfig]]:
    found: dict[str, dict[str, GraderConfig]] = {}
    for task in sorted(tasks):
        path = tasks_dir / f"{task}.yaml"
        # A task renamed or removed since its trials ran has no graders to apply.
        if "/" in task or task.startswith(".") or not path.is_file():
            continue
        found[task] = {grader_key(g): g for g in load_task(path).graders}
    return found


def prepare(
    records: list[dict[str, Any]],
    tasks_dir: Path,
    judges_dir: Path = JUDGES_DIR,
    only: tuple[str, ...] = (),
) -> JudgeSet:
    """Load the rubrics, each judge the records need (compiled when saved) and the
    tasks' graders.

    Raises:
        UsageError: ``only`` names a criterion none of the records has.
        ConfigError: A rubric or task file is invalid, or a record names no rubric.
    """
    tasks = {str(r["inputs"].get("task", "")) for r in records}
    judge_set = JudgeSet(
        rubrics=load_rubrics(judges_dir / "rubrics"),
        judges={},
        task_graders=_task_graders(tasks_dir, tasks),
        only=frozenset(only) if only else None,
    )
    names: set[str] = set()
    every = replace(judge_set, only=None)
    for record in records:
        names.update(c.name for c in every.criteria(record))
        names.update(every.graders(record))
        for criterion in judge_set.criteria(record):
            if criterion.judged and criterion.judge_name not in judge_set.judges:
                judge_set.judges[criterion.judge_name] = load_judge(
                    criterion.judge_name, judges_dir / "compiled"
                )
    if judge_set.only is not None and not judge_set.only <= names:
        unknown = sorted(judge_set.only - names)[0]
        valid = ", ".join(sorted(names)) or "(none)"
        raise UsageError(f"no record of the dataset has criterion {unknown!r}; valid: {valid}")
    return judge_set
