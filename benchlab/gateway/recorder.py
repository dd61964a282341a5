"""Per-trial state: where calls go, the limits, and the calls recorded so far."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

from benchlab.results import ModelCall

# What each limit name in ``stopped_by`` refers to in :class:`Limits`.
LIMIT_FIELDS = {
    "max_turns": "max_turns",
    "max_output_tokens": "max_output_tokens",
    "wall_time": "max_wall_s",
}


@dataclass(frozen=True)
class Limits:
    """Limits of one trial; ``None`` means unlimited."""

    max_turns: int | None = None
    """Model calls allowed; the call after the last allowed one is refused."""

    max_output_tokens: int | None = None
    """Completion tokens allowed in total; each call's ``max_tokens`` is capped at what
    is left, and calls are refused once the total reaches it."""

    max_wall_s: float | None = None
    """Seconds from the route's opening after which calls are refused (``wall_time``); a
    call already running then is left to finish (the agent's own timeout ends it)."""


def _canonical_arguments(text: str) -> str:
    try:
        return json.dumps(json.loads(text), sort_keys=True)
    except ValueError:
        return text


def tool_call_signature(call: ModelCall) -> tuple[tuple[str, str], ...]:
    """The tool calls of an answer as comparable data: names and normalised arguments."""
    return tuple(sorted((t.name, _canonical_arguments(t.arguments)) for t in call.tool_calls))


class TrialRecorder:
    """The route of one trial and its recorded calls; safe to use from several threads.

    Calls are numbered when they arrive (so that concurrent calls keep their order)
    and stored when they finish.
    """

    def __init__(
        self,
        trial_id: str,
        upstream_base_url: str,
        model_alias: str,
        *,
        api_key: str | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.trial_id = trial_id
        self.upstream_base_url = upstream_base_url.rstrip("/")
        self.model_alias = model_alias
        self.api_key = api_key
        self.limits = limits or Limits()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._next_index = 0
        self._in_flight = 0
        self._output_tokens = 0
        self._calls: list[ModelCall] = []
        self._last_signature: tuple[tuple[str, str], ...] = ()
        self._repeats = 0
        self.opened = time.monotonic()
        """When the route was opened; the start of ``max_wall_s``."""
        self.stopped_by: str | None = None
        """The first limit that refused a call, if any."""

    def begin(self) -> tuple[int, str | None]:
        """Number a new call and check the limits.

        Returns:
            The call's index, and the name of the limit that refuses it (or None).
        """
        with self._lock:
            index = self._next_index
            self._next_index += 1
            refused = self._refusal(index)
            if refused and self.stopped_by is None:
                self.stopped_by = refused
            # Refused calls too: their record is made after their answer has gone out.
            self._in_flight += 1
            return index, refused

    def _refusal(self, index: int) -> str | None:
        limits = self.limits
        if limits.max_turns is not None and index >= limits.max_turns:
            return "max_turns"
        if limits.max_output_tokens is not None and self._output_tokens >= limits.max_output_tokens:
            return "max_output_tokens"
        if limits.max_wall_s is not None and time.monotonic() - self.opened >= limits.max_wall_s:
            return "wall_time"
        return None

    def refusal_message(self, limit: str) -> str:
        """The error message a refused call gets."""
        field = LIMIT_FIELDS.get(limit, limit)
        value = getattr(self.limits, field, None)
        return (
            f"benchlab gateway: trial {self.trial_id} reached its limit {field}={value}; "
            "no further model calls are allowed"
        )

    def record(self, call: ModelCall) -> None:
        """Store a finished call, numbered by :meth:`begin`."""
        with self._lock:
            repeats = self._count_repeats(call)
            if repeats:
                call = call.model_copy(update={"repeated_tool_calls": repeats})
            self._calls.append(call)
            self._output_tokens += call.usage.completion_tokens
            self._in_flight -= 1
            self._idle.notify_all()

    def _count_repeats(self, call: ModelCall) -> int:
        # In the order answers finish, which is the order the agent saw them.
        if call.error or call.stopped_by:
            return 0  # no answer: neither extends nor ends a run
        signature = tool_call_signature(call)
        if signature and signature == self._last_signature:
            self._repeats += 1
        else:
            self._last_signature, self._repeats = signature, 0
        return self._repeats

    def remaining_output_tokens(self) -> int | None:
        """Completion tokens left under ``max_output_tokens``; None when unlimited.

        Calls running at the same time each see the same remainder, so parallel calls
        of one trial can overshoot the limit by what they generate together.
        """
        if self.limits.max_output_tokens is None:
            return None
        with self._lock:
            return max(0, self.limits.max_output_tokens - self._output_tokens)

    @property
    def output_tokens(self) -> int:
        """Completion tokens used so far."""
        with self._lock:
            return self._output_tokens

    def activity(self) -> tuple[int, int]:
        """Calls begun so far and calls in flight now (for stuck detection)."""
        with self._lock:
            return self._next_index, self._in_flight

    def calls(self, wait_s: float = 0.0) -> list[ModelCall]:
        """The recorded calls in arrival order, after waiting up to ``wait_s`` for
        calls still in flight (a stream cut by a killed agent finishes recording late).
        """
        deadline = time.monotonic() + wait_s
        with self._lock:
            while self._in_flight > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._idle.wait(left)
            return sorted(self._calls, key=lambda c: c.index)
