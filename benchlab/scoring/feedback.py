"""Human feedback on MLflow traces as training examples for the judges.

A person scores a trace in the MLflow UI (or with ``mlflow.log_feedback``) under the
judge's name; joined with the curated record of that trace, it becomes a labelled
example like those in ``judges/data``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchlab.scoring.examples import LabelledExample, Split
from benchlab.scoring.programs import signature_of


@dataclass(frozen=True)
class HumanLabel:
    """One human assessment of a trace under a judge's name."""

    trace_id: str
    value: bool | int
    rationale: str


def human_labels(experiment_id: str, judge: str, max_traces: int = 1000) -> list[HumanLabel]:
    """Human feedback named ``judge`` on the experiment's traces (the latest per trace).

    Values that do not fit the judge (not 1-5, or not yes/no) are skipped.
    """
    import mlflow

    boolean = "refused" in signature_of(judge).output_fields
    traces = mlflow.search_traces(
        locations=[experiment_id], max_results=max_traces, return_type="list", include_spans=False
    )
    labels: list[HumanLabel] = []
    for trace in traces:
        found: dict[str, Any] = {}
        for assessment in trace.info.assessments:
            source = getattr(assessment.source, "source_type", None)
            if assessment.name != judge or str(source) != "HUMAN" or assessment.feedback is None:
                continue
            found = {"value": assessment.feedback.value, "rationale": assessment.rationale or ""}
        value = found.get("value")
        if boolean and isinstance(value, bool):
            labels.append(HumanLabel(trace.info.trace_id, value, found["rationale"]))
        elif not boolean and _on_scale(value):
            labels.append(HumanLabel(trace.info.trace_id, int(value or 0), found["rationale"]))
    return labels


def _on_scale(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value in range(1, 6)


def feedback_examples(
    judge: str, labels: list[HumanLabel], records: list[dict[str, Any]]
) -> list[LabelledExample]:
    """Training examples from human labels, joined with curated records by trace id.

    Labels whose trace has no record among ``records`` are left out.
    """
    by_trace = {str((r.get("tags") or {}).get("trace_id")): r for r in records}
    examples = []
    for label in labels:
        record = by_trace.get(label.trace_id)
        if record is None:
            continue
        inputs, outputs = record.get("inputs") or {}, record.get("outputs") or {}
        examples.append(
            LabelledExample(
                id=f"trace-{label.trace_id}-{judge}",
                judge=judge,
                task_prompt=str(inputs.get("prompt") or ""),
                diff=str(outputs.get("diff") or ""),
                transcript=str(outputs.get("transcript") or ""),
                final_answer=str(outputs.get("final_answer") or ""),
                label=label.value,
                rationale=label.rationale or "(no rationale given)",
                split=Split.train,
            )
        )
    return examples
