"""Judge faults: an endpoint that answers HTTP 500, HTML, cut JSON, JSON that is no chat
completion, a verdict that is garbage or only looks valid, a reset connection, or
nothing at all until the timeout. Each is "could not score" with the reason: never an
exception, never a value made up."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from benchlab.evaluate.request import EvaluateRequest
from benchlab.evaluate.scorers import COULD_NOT_SCORE
from benchlab.scoring.endpoint import JudgeEndpoint, judge_lm
from benchlab.scoring.programs import plain_judge
from benchlab.scoring.structured import ConstrainedJSONAdapter
from benchlab.scoring.verdict import run_judge
from benchlab.settings import Settings
from tests.evaluate.conftest import Curated
from tests.loopback import LoopbackServer

TIMEOUT_S = 1.0
"""The judge endpoint's timeout in these tests; the hanging judge waits far longer."""

HANG_S = 30.0

Answer = Callable[[BaseHTTPRequestHandler], None]


def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, kind: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", kind)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _json(status: int, payload: object) -> Answer:
    return lambda h: _send(h, status, json.dumps(payload).encode(), "application/json")


def _raw(body: bytes, kind: str = "application/json") -> Answer:
    return lambda h: _send(h, 200, body, kind)


def _verdict(content: str) -> Answer:
    """A well-formed chat completion whose message is ``content``."""
    return _json(
        200,
        {
            "id": "chatcmpl-fault",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": "judge",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        },
    )


def _reset(handler: BaseHTTPRequestHandler) -> None:
    # Linger 0: closing sends RST, as a crashing proxy does.
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.close_connection = True
    handler.connection.close()


def _hang(handler: BaseHTTPRequestHandler) -> None:
    time.sleep(HANG_S)
    _verdict('{"rationale": "too late", "score": 5}')(handler)


FAULTS: dict[str, tuple[Answer, tuple[str, ...]]] = {
    "http-500": (
        _json(500, {"error": {"message": "judge fell over", "type": "server_error"}}),
        ("judge fell over",),
    ),
    "html": (_raw(b"<html><body>502 Bad Gateway</body></html>", "text/html"), ("not json",)),
    "cut-json": (_raw(b'{"id": "x", "choices": [{"message": {"role": "assis'), ("not json",)),
    "not-a-completion": (_raw(b'{"hello": "world"}'), ("empty or null response",)),
    "prose-verdict": (_verdict("%%% {score: five} ###"), ("failed to parse field score",)),
    "true-for-a-score": (
        _verdict('{"rationale": "fine", "score": true}'),
        ("field score: expected int, got true",),
    ),
    "null-rationale": (
        _verdict('{"rationale": null, "score": 4}'),
        ("field rationale: expected str, got null",),
    ),
    "reset": (_reset, ("reset",)),
    "hang": (_hang, ("timed out", "timeout")),
}
"""Each fault: how the endpoint answers, and words one of which the reason holds."""


class FaultyJudge(LoopbackServer):
    """A loopback OpenAI-compatible endpoint whose every answer is a fault; the faults
    are taken in turn from a list."""

    def __init__(self, faults: list[str]) -> None:
        self.faults = faults
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        super().__init__(self._handler())

    def _next(self, body: dict[str, Any]) -> Answer:
        with self._lock:
            self.requests.append(body)
            fault = self.faults[(len(self.requests) - 1) % len(self.faults)]
        return FAULTS[fault][0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        judge = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                judge._next(body)(self)

        return Handler


@pytest.fixture
def faulty_judge(request: pytest.FixtureRequest) -> Iterator[FaultyJudge]:
    """The faulty endpoint answering with the faults the test is parametrized with."""
    faults: list[str] = request.param
    with FaultyJudge(faults) as judge:
        yield judge


INPUTS = {
    "task_prompt": "Add divide(a, b) to calc.py.",
    "criterion": "completeness: every part of the task is done",
    "diff": "+def divide(a, b):\n+    return a / b\n",
    "transcript": "(none)",
    "final_answer": "Added divide.",
}


@pytest.mark.parametrize(
    "faulty_judge", [[name] for name in FAULTS], ids=list(FAULTS), indirect=True
)
def test_one_judge_call_on_a_faulty_endpoint_is_could_not_score(
    faulty_judge: FaultyJudge,
) -> None:
    (fault,) = faulty_judge.faults
    endpoint = JudgeEndpoint(base_url=faulty_judge.base_url, model="judge", timeout_s=TIMEOUT_S)
    judge = plain_judge("completeness")
    start = time.monotonic()
    score = run_judge(
        judge, "completeness", INPUTS, judge_lm(endpoint).copy(), ConstrainedJSONAdapter(48)
    )
    took = time.monotonic() - start

    assert score.could_not_score and score.value is None and score.rationale == ""
    assert (score.criterion, score.judge, score.judge_version) == (
        "completeness",
        "completeness",
        judge.version,
    )
    reason = (score.reason or "").lower()
    assert any(word in reason for word in FAULTS[fault][1]), score.reason
    # One request, no silent retries; the timeout bounds the wait.
    assert len(faulty_judge.requests) == 1
    assert took < TIMEOUT_S + 5


def _feedbacks(trace_id: str, run_id: str) -> dict[str, Any]:
    """The feedback an evaluation run left on a trace, by name."""
    import mlflow
    from mlflow.tracing.constant import AssessmentMetadataKey

    trace = mlflow.get_trace(trace_id)
    assert trace is not None
    return {
        a.name: a
        for a in trace.info.assessments
        if a.feedback is not None
        and (a.metadata or {}).get(AssessmentMetadataKey.SOURCE_RUN_ID) == run_id
    }


JUDGED = ("completeness", "idiomatic", "refusal")
"""Judged criteria of the sample task: two 1-5 scales and a yes/no."""

QUICK = [name for name in FAULTS if name != "hang"]
"""The faults the evaluate flow meets; its judge timeout is not one a test can wait out."""


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize("faulty_judge", [QUICK], ids=["every-fault"], indirect=True)
def test_an_evaluation_on_a_faulty_judge_records_could_not_score(
    faulty_judge: FaultyJudge, settings: Settings, curate: Callable[..., Curated]
) -> None:
    """The evaluate flow ends; every judged criterion of every record is on its trace as
    could-not-score with the reason; the graders still score; nothing is averaged."""
    from mlflow import MlflowClient

    from flows.evaluate import evaluate

    ref, logged = curate(passes=(True, False, True))
    only = (*JUDGED, "grader_works")
    result = evaluate(EvaluateRequest(dataset=ref, base_url=faulty_judge.base_url, only=only),
                      settings)  # fmt: skip

    # Each judge call reached the endpoint once: a fault is reported, not retried.
    assert len(faulty_judge.requests) == len(JUDGED) * len(logged) == result.judge_calls
    assert result.records == len(logged)
    for name in JUDGED:
        summary = result.criteria[f"judge.{name}"]
        assert (summary.mean, summary.scored, summary.unscored) == (None, 0, len(logged))
    assert result.criteria["grader.works"].mean == pytest.approx(2 / 3)

    # A yes/no judge answered with a scale verdict misses its field: a parse failure too.
    phrases = ["failed to parse", *(word for fault in QUICK for word in FAULTS[fault][1])]
    client = MlflowClient()
    for trial in logged:
        found = _feedbacks(trial.trace_id, result.run_id)
        assert set(found) == {*JUDGED, "grader_works"}
        for name in JUDGED:
            assert found[name].value is None
            error = found[name].error
            assert error is not None and error.error_code == COULD_NOT_SCORE
            assert any(word in error.error_message.lower() for word in phrases), error
        assert found["grader_works"].value in (0.0, 1.0)
        metrics = client.get_run(trial.run_id).data.metrics
        assert not [m for m in metrics if m.startswith("judge.")], metrics

    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    for name in JUDGED:
        assert run.data.metrics[f"judge.{name}.unscored"] == len(logged)
        assert f"judge.{name}.mean" not in run.data.metrics


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_criteria_whose_scorer_never_returned_count_as_could_not_score(
    settings: Settings, curate: Callable[..., Curated], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scorer that dies (here: the judge adapter raises what it never should) or that
    MLflow stops never reaches benchlab's tally; each of its criteria still counts as
    could-not-score, in the result and on the evaluation run, never as nothing."""
    import mlflow.genai.scorers.base as mlflow_scorers
    from mlflow import MlflowClient

    from benchlab.evaluate import scorers
    from flows.evaluate import evaluate

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("judge adapter crashed")

    monkeypatch.setattr(scorers, "run_judge", crash)
    # MLflow's own per-scorer timeout is not benchlab's: a tiny one must change nothing.
    monkeypatch.setattr(mlflow_scorers, "DEFAULT_SCORER_TIMEOUT", 0.001)
    ref, logged = curate(passes=(True, False))
    request = EvaluateRequest(dataset=ref, base_url="http://127.0.0.1:9/v1",
                              only=(*JUDGED, "grader_works"))  # fmt: skip
    result = evaluate(request, settings)
    for name in JUDGED:
        summary = result.criteria[f"judge.{name}"]
        assert (summary.mean, summary.scored, summary.unscored) == (None, 0, len(logged))
    # The graders ran to the end under the tiny MLflow timeout: it is not in force.
    assert result.criteria["grader.works"].scored == len(logged)
    run = MlflowClient().get_run(result.run_id)
    for name in JUDGED:
        assert run.data.metrics[f"judge.{name}.unscored"] == len(logged)


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize("faulty_judge", [["hang"]], ids=["hang"], indirect=True)
def test_a_judge_slower_than_mlflows_scorer_timeout_is_could_not_score_everywhere(
    faulty_judge: FaultyJudge,
    settings: Settings,
    curate: Callable[..., Curated],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The judge answers after 30 s; MLflow's scorer timeout (made 0.5 s here) would fire
    first and leave the criterion out of benchlab's tally. benchlab's judge timeout (1 s
    here) is the one setting: every judged criterion is could-not-score, counted."""
    import mlflow.genai.scorers.base as mlflow_scorers
    from mlflow import MlflowClient

    from flows.evaluate import evaluate

    monkeypatch.setattr(mlflow_scorers, "DEFAULT_SCORER_TIMEOUT", 0.5)
    ref, logged = curate(passes=(True, False))
    request = EvaluateRequest(dataset=ref, base_url=faulty_judge.base_url, only=JUDGED)
    result = evaluate(request, settings.model_copy(update={"judge_timeout_s": 1.0}))
    for name in JUDGED:
        summary = result.criteria[f"judge.{name}"]
        assert (summary.mean, summary.scored, summary.unscored) == (None, 0, len(logged))
    run = MlflowClient().get_run(result.run_id)
    for name in JUDGED:
        assert run.data.metrics[f"judge.{name}.unscored"] == len(logged)
    for trial in logged:
        found = _feedbacks(trial.trace_id, result.run_id)
        for name in JUDGED:
            error = found[name].error
            assert error is not None and error.error_code == COULD_NOT_SCORE
            assert "time" in error.error_message.lower(), error.error_message
