"""The judge programs by name: plain ones from their signatures, compiled ones from disk."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dspy

from benchlab.errors import BenchlabError, unknown_name
from benchlab.scoring import baseline_signatures as base
from benchlab.scoring import signatures as sig

JUDGE_SIGNATURES: dict[str, type[dspy.Signature]] = {
    "specificity": sig.Specificity,
    "security": sig.Security,
    "constraints": sig.Constraints,
    "diff_hygiene": sig.DiffHygiene,
    "idiomatic": sig.Idiomatic,
    "completeness": sig.Completeness,
    "citation_grounding": sig.CitationGrounding,
    "decisiveness": sig.Decisiveness,
    "structure": sig.Structure,
    "guideline": sig.Guideline,
    "sycophancy": base.Sycophancy,
    "refusal": base.Refusal,
    "instruction_adherence": base.InstructionAdherence,
}
"""Every judged quality and its signature."""


class JudgeProgram(dspy.Module):
    """One judge: a single prediction over the shared judge inputs."""

    def __init__(self, signature: type[dspy.Signature]) -> None:
        super().__init__()
        self.judge = dspy.Predict(signature)

    def forward(self, **inputs: str) -> dspy.Prediction:
        """Judge one record on one criterion."""
        return self.judge(**inputs)


@dataclass(frozen=True)
class LoadedJudge:
    """A judge program ready to run, and which version of it this is."""

    name: str
    program: JudgeProgram
    version: str
    compiled: bool
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def is_boolean(self) -> bool:
        """Whether the judge answers yes/no rather than 1-5."""
        return "refused" in self.program.judge.signature.output_fields


def signature_of(name: str) -> type[dspy.Signature]:
    """The signature of the judge called ``name``."""
    if name not in JUDGE_SIGNATURES:
        raise unknown_name("judge", name, list(JUDGE_SIGNATURES))
    return JUDGE_SIGNATURES[name]


def plain_version(signature: type[dspy.Signature]) -> str:
    """A version that changes whenever the instructions or fields change."""
    text = json.dumps(signature.dump_state(), sort_keys=True)
    return "plain-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def plain_judge(name: str) -> LoadedJudge:
    """The uncompiled judge: its signature's instructions and no demonstrations."""
    signature = signature_of(name)
    return LoadedJudge(name, JudgeProgram(signature), plain_version(signature), compiled=False)


def compiled_path(compiled_dir: Path, name: str) -> Path:
    """Where the compiled judge ``name`` is saved."""
    return compiled_dir / f"{name}.json"


def load_judge(name: str, compiled_dir: Path) -> LoadedJudge:
    """The compiled judge when one is saved, else the plain one.

    Raises:
        BenchlabError: The compiled file exists but cannot be read as a judge.
    """
    path = compiled_path(compiled_dir, name)
    if not path.is_file():
        return plain_judge(name)
    raw = path.read_bytes()
    try:
        saved = json.loads(raw)
        program = JudgeProgram(signature_of(name))
        program.load_state(saved["program"])
        metadata = dict(saved["metadata"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BenchlabError(f"{path}: not a compiled judge ({exc})") from exc
    version = "compiled-" + hashlib.sha256(raw).hexdigest()[:12]
    return LoadedJudge(name, program, version, compiled=True, metadata=metadata)
