"""One call in progress: what is known before the answer, and its record at the end."""

from __future__ import annotations

import json
import time
from typing import Any

from benchlab.gateway.answers import Answer
from benchlab.gateway.recorder import TrialRecorder
from benchlab.results import ModelCall


def scrub(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` masked."""
    # Upstream errors sometimes echo request headers; the key must not reach a record.
    return text.replace(secret, "***") if secret else text


def scrub_bytes(content: bytes, secret: str | None) -> bytes:
    """An answer body with ``secret`` masked, before the agent (and its logs) see it."""
    return content.replace(secret.encode(), b"***") if secret else content


class PendingCall:
    """One call in progress: what is known before the answer.

    Created when the request has been read; every call is recorded exactly once, after
    its answer has gone to the client (until then the trial counts it as in flight).
    """

    def __init__(self, recorder: TrialRecorder, endpoint: str, body: dict[str, Any]) -> None:
        self.recorder = recorder
        self.endpoint = endpoint
        self.body = body
        self.start_ns = time.time_ns()
        self.started = time.perf_counter()
        self.index, self.refused = recorder.begin()
        self.budget = recorder.remaining_output_tokens()
        self.recorded = False

    def token_cap(self) -> dict[str, Any]:
        """Request overrides that cap this call's output at the trial's remaining tokens.

        Capping upstream, rather than only refusing the next call, keeps one rambling
        answer from running past the limit (and past the trial's time limit).
        """
        if self.budget is None:
            return {}
        caps = {}
        for key in ("max_tokens", "max_completion_tokens"):
            asked = self.body.get(key)
            if isinstance(asked, int) and asked > 0:
                caps[key] = min(asked, self.budget)
        if "max_tokens" not in caps:
            caps["max_tokens"] = self.budget
        return caps

    def upstream_payload(self, raw: bytes, **overrides: Any) -> bytes:
        """The body to send upstream: the route's model, the token cap, ``overrides``.

        When they change nothing the agent's own bytes go as they are, which spares
        re-serialising a request that can be hundreds of kilobytes of conversation.
        """
        changes = {"model": self.recorder.model_alias, **self.token_cap(), **overrides}
        body = self.body
        if all(key in body and body[key] == value for key, value in changes.items()):
            return raw
        return json.dumps({**body, **changes}, separators=(",", ":")).encode()

    def record(
        self,
        answer: Answer | None,
        *,
        status: int,
        error: str | None = None,
        ttft_s: float | None = None,
        stopped_by: str | None = None,
        end_ns: int | None = None,
    ) -> None:
        """Store the finished call as a :class:`ModelCall`; only the first record counts.

        ``end_ns`` is when the answer was complete, if the record is made later.
        """
        if self.recorded:
            return
        self.recorded = True
        answer = answer or Answer()
        self.recorder.record(
            ModelCall(
                index=self.index,
                endpoint=self.endpoint,
                model=str(self.body.get("model", "")),
                request=self.body,
                response_text=answer.text,
                tool_calls=tuple(answer.tool_calls),
                finish_reason=answer.finish_reason,
                usage=answer.usage,
                timings=answer.timings,
                stream=bool(self.body.get("stream")),
                start_ns=self.start_ns,
                end_ns=end_ns or time.time_ns(),
                ttft_s=ttft_s,
                status_code=status,
                error=scrub(error, self.recorder.api_key) if error else None,
                stopped_by=stopped_by,
            )
        )
