"""What the scorers found, collected from the evaluation's worker threads."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from benchlab.scoring.score import Score


@dataclass(frozen=True)
class Scored:
    """One criterion of one record, as the scorer returned it."""

    trial_id: str
    metric: str
    """The trial run's metric name: ``judge.<criterion>`` or ``grader.<name>``."""
    score: Score
    source_id: str
    """``<judge>@<version>``: who scored it."""

    @property
    def value(self) -> float | None:
        """The value as a number (True is 1), None when unscored."""
        return None if self.score.value is None else float(self.score.value)


@dataclass
class Tally:
    """Scores, judge calls, their tokens and time; safe to add to from many threads."""

    scores: list[Scored] = field(default_factory=list)
    calls: int = 0
    call_time_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls_with_usage: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, scored: Scored) -> None:
        """Keep one score."""
        with self._lock:
            self.scores.append(scored)

    def add_call(self, seconds: float, usage: dict[str, Any] | None) -> None:
        """Count one judge call, its wall time and, when the endpoint said, its tokens."""
        with self._lock:
            self.calls += 1
            self.call_time_s += seconds
            if usage and usage.get("prompt_tokens") is not None:
                self.calls_with_usage += 1
                self.prompt_tokens += int(usage.get("prompt_tokens") or 0)
                self.completion_tokens += int(usage.get("completion_tokens") or 0)

    @property
    def has_usage(self) -> bool:
        """Whether every judge call reported its token usage."""
        return self.calls > 0 and self.calls_with_usage == self.calls
