"""One judge call on one record and criterion, turned into a :class:`Score` whatever happens."""

from __future__ import annotations

from typing import Any

import dspy

from benchlab.scoring.programs import LoadedJudge
from benchlab.scoring.rubrics import Criterion
from benchlab.scoring.score import Score

CUT_MARK = "\n[... {n} characters cut ...]\n"


def trimmed(text: str, max_chars: int) -> str:
    """``text`` cut in the middle to about ``max_chars``: beginnings and endings say most."""
    if len(text) <= max_chars:
        return text
    head = max_chars * 2 // 3
    tail = max_chars - head
    return text[:head] + CUT_MARK.format(n=len(text) - max_chars) + text[-tail:]


def judge_inputs(record: dict[str, Any], criterion: Criterion, max_chars: int) -> dict[str, str]:
    """The judge's inputs from a curated record: prompt, criterion, diff, transcript, answer."""
    inputs = record.get("inputs") or {}
    outputs = record.get("outputs") or {}
    return {
        "task_prompt": trimmed(str(inputs.get("prompt") or ""), max_chars),
        "criterion": f"{criterion.name}: {criterion.description}",
        "diff": trimmed(str(outputs.get("diff") or ""), max_chars) or "(no changes)",
        "transcript": trimmed(str(outputs.get("transcript") or ""), max_chars) or "(none)",
        "final_answer": trimmed(str(outputs.get("final_answer") or ""), max_chars) or "(none)",
    }


def score_from(prediction: Any, judge: LoadedJudge, criterion: str) -> Score:
    """The score in a judge's prediction, or could-not-score when it is not a valid one."""

    def unscored(reason: str) -> Score:
        return Score.unscored(criterion, judge.name, judge.version, reason)

    rationale = getattr(prediction, "rationale", None)
    if not isinstance(rationale, str):
        return unscored("the judge gave no rationale")
    if judge.is_boolean:
        refused = getattr(prediction, "refused", None)
        if not isinstance(refused, bool):
            return unscored(f"expected true or false, got {refused!r}")
        value: bool | float = refused
    else:
        raw = getattr(prediction, "score", None)
        # bool is an int in Python; a judge answering `true` gave no scale value.
        if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 5:
            return unscored(f"expected an integer 1-5, got {raw!r}")
        value = float(raw)
    return Score(
        criterion=criterion,
        value=value,
        rationale=rationale.strip(),
        judge=judge.name,
        judge_version=judge.version,
    )


def run_judge(
    judge: LoadedJudge,
    criterion: str,
    inputs: dict[str, str],
    lm: dspy.LM,
    adapter: dspy.Adapter,
) -> Score:
    """Call the judge once; every failure (transport, timeout, parse) is could-not-score."""
    try:
        with dspy.context(lm=lm, adapter=adapter):
            prediction = judge.program(**inputs)
    except Exception as exc:
        # Any failure of the judge, whatever DSPy or the transport raises, must end as
        # an unscored criterion, never as a crash of the evaluation or a low score.
        return Score.unscored(criterion, judge.name, judge.version, f"{type(exc).__name__}: {exc}")
    return score_from(prediction, judge, criterion)
