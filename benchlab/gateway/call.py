"""One call in progress, and the error answers the gateway gives."""

from __future__ import annotations

import time
from typing import Any

from starlette.responses import JSONResponse

from benchlab.gateway.answers import Answer
from benchlab.gateway.recorder import TrialRecorder
from benchlab.results import ModelCall


def openai_error(status: int, message: str, kind: str, code: str | None = None) -> JSONResponse:
    """An error answer in the shape OpenAI clients parse."""
    return JSONResponse(
        {"error": {"message": message, "type": kind, "code": code or kind}}, status_code=status
    )


def scrub(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` masked."""
    # Upstream errors sometimes echo request headers; the key must not reach a record.
    return text.replace(secret, "***") if secret else text


class PendingCall:
    """One call in progress: what is known before the answer."""

    def __init__(self, recorder: TrialRecorder, endpoint: str, body: dict[str, Any]) -> None:
        self.recorder = recorder
        self.endpoint = endpoint
        self.body = body
        self.start_ns = time.time_ns()
        self.started = time.perf_counter()
        self.index, self.refused = recorder.begin()
        self.budget = recorder.remaining_output_tokens()

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

    def record(
        self,
        answer: Answer | None,
        *,
        status: int,
        error: str | None = None,
        ttft_s: float | None = None,
        stopped_by: str | None = None,
    ) -> None:
        """Store the finished call as a :class:`ModelCall` in the trial's recorder."""
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
                end_ns=time.time_ns(),
                ttft_s=ttft_s,
                status_code=status,
                error=scrub(error, self.recorder.api_key) if error else None,
                stopped_by=stopped_by,
            ),
            counted=self.refused is None,
        )
