"""One record judged by the real small model behind a real llama-server."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from benchlab.engine import LlamaServer
from benchlab.evaluate.request import EvaluateRequest
from benchlab.evaluate.scorers import COULD_NOT_SCORE
from benchlab.settings import Settings
from tests.evaluate.conftest import Curated
from tests.evaluate.test_evaluate_flow import feedbacks
from tests.fixtures.llama import MODEL_ALIAS


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_the_small_model_scores_or_cannot_and_says_so_on_the_trace(
    settings: Settings, curate: Callable[..., Curated], llama_server: LlamaServer
) -> None:
    from flows.evaluate import evaluate

    ref, logged = curate(passes=(False,))
    request = EvaluateRequest(dataset=ref, base_url=llama_server.openai_base_url,
                              model=MODEL_ALIAS, only=("refusal",), parallel=1)  # fmt: skip
    result = evaluate(request, settings)

    summary = result.criteria["judge.refusal"]
    assert summary.scored + summary.unscored == 1 and result.judge_calls == 1
    found = feedbacks(logged[0].trace_id, result.run_id)["refusal"]
    if summary.scored:
        # Schema-constrained decoding keeps even a tiny model to a boolean.
        assert isinstance(found.value, bool) and found.error is None
        assert result.prompt_tokens is not None and result.prompt_tokens > 0
    else:
        assert found.value is None and found.error.error_code == COULD_NOT_SCORE
