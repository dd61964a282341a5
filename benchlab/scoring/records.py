"""Scoring curated records: every criterion of every record, judged calls in parallel."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlab.scoring.computed import determinism
from benchlab.scoring.endpoint import JudgeEndpoint, judge_lm
from benchlab.scoring.programs import LoadedJudge, load_judge
from benchlab.scoring.rubrics import Criterion, CriterionKind, Rubric, criteria_for
from benchlab.scoring.score import Score
from benchlab.scoring.structured import ConstrainedJSONAdapter
from benchlab.scoring.verdict import judge_inputs, run_judge


@dataclass(frozen=True)
class RecordScores:
    """The scores of one record, in rubric order."""

    trial_id: str
    trace_id: str
    scores: tuple[Score, ...]


def score_records(
    records: list[dict[str, Any]],
    rubrics: dict[str, Rubric],
    endpoint: JudgeEndpoint,
    compiled_dir: Path,
    only: frozenset[str] | None = None,
) -> list[RecordScores]:
    """Score each record on its archetype's, the baseline's and its own criteria.

    Cross-trial criteria (reproducibility) are left to
    :func:`benchlab.scoring.computed.reproducibility_by_group`.

    Args:
        records: Curated records.
        rubrics: The loaded rubrics.
        endpoint: The judge model.
        compiled_dir: Where compiled judges are saved; a judge without one runs plain.
        only: Score only these criteria (all when None).

    Returns:
        One entry per record, never raising for a judge failure.
    """
    lm = judge_lm(endpoint)
    adapter = ConstrainedJSONAdapter(endpoint.max_rationale_chars)
    judges: dict[str, LoadedJudge] = {}
    plans: list[list[tuple[Criterion, Any]]] = []
    with ThreadPoolExecutor(max_workers=endpoint.parallelism) as pool:
        for record in records:
            planned: list[tuple[Criterion, Any]] = []
            for criterion in criteria_for(record.get("expectations") or {}, rubrics):
                if only is not None and criterion.name not in only:
                    continue
                if criterion.kind is CriterionKind.deterministic:
                    planned.append((criterion, determinism(record)))
                elif criterion.judged:
                    name = criterion.judge_name
                    if name not in judges:
                        judges[name] = load_judge(name, compiled_dir)
                    inputs = judge_inputs(record, criterion, endpoint.max_input_chars)
                    future = pool.submit(
                        run_judge, judges[name], criterion.name, inputs, lm, adapter
                    )
                    planned.append((criterion, future))
            plans.append(planned)
        results = []
        for record, planned in zip(records, plans, strict=True):
            scores = tuple(s if isinstance(s, Score) else s.result() for _, s in planned)
            tags = record.get("tags") or {}
            results.append(
                RecordScores(str(tags.get("trial_id", "")), str(tags.get("trace_id", "")), scores)
            )
    return results
