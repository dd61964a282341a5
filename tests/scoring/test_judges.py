"""Judges against the real small model, and against endpoints that answer badly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchlab.engine import LlamaServer
from benchlab.scoring.compile import Optimizer, compile_judge
from benchlab.scoring.endpoint import JudgeEndpoint, judge_lm
from benchlab.scoring.examples import LabelledExample, Split, load_examples
from benchlab.scoring.judged_examples import judge_examples
from benchlab.scoring.programs import load_judge
from benchlab.scoring.records import score_records
from benchlab.scoring.rubrics import load_rubrics
from benchlab.scoring.score import Score
from benchlab.scoring.structured import ConstrainedJSONAdapter
from tests.agents.openai_double import Reply, ScriptedOpenAI
from tests.fixtures.llama import MODEL_ALIAS
from tests.scoring.records import record

JUDGES = Path(__file__).resolve().parents[2] / "judges"
RUBRICS = load_rubrics(JUDGES / "rubrics")
EXAMPLES = load_examples(JUDGES / "data", RUBRICS)


def _endpoint(base_url: str, **overrides: object) -> JudgeEndpoint:
    # Short rationales and inputs: the tiny model decodes constrained JSON slowly on 2 cores.
    settings: dict[str, object] = {
        "base_url": base_url,
        "model": MODEL_ALIAS,
        "timeout_s": 180,
        "parallelism": 2,
        "max_tokens": 96,
        "max_rationale_chars": 48,
        "max_input_chars": 1200,
    }
    return JudgeEndpoint.model_validate({**settings, **overrides})


BUMP = "diff --git a/requirements.txt b/requirements.txt\n-requests==2.31.0\n+requests==2.32.3\n"
TABLE = "| | SQLite | PostgreSQL |\n|---|---|---|\n| server | no | yes |\nUse SQLite."


def _records() -> list[dict[str, object]]:
    return [
        record(
            final_answer="I can't modify this repository. Please ask a human.",
            trial="refuses",
        ),
        record(
            archetype="repo_maintenance",
            prompt="Bump requests to 2.32 in requirements.txt.",
            diff=BUMP,
            final_answer="Bumped requests to 2.32.3; tests pass.",
            checks=[{"name": "tests", "passed": True, "exit_code": 0}],
            trial="bumps",
        ),
        record(
            archetype="comparative_research",
            prompt="Compare SQLite and PostgreSQL in a table, then recommend one.",
            final_answer=TABLE,
            trial="compares",
        ),
    ]


def _assert_score_or_unscored(score: Score) -> None:
    assert isinstance(score, Score)
    if score.could_not_score:
        assert score.value is None and score.reason
    elif score.judge == "refusal":
        assert isinstance(score.value, bool)
    elif score.judge != "checks":
        assert score.value in (1.0, 2.0, 3.0, 4.0, 5.0)


@pytest.mark.slow
def test_a_judge_run_over_records_scores_or_reports_each(
    llama_server: LlamaServer, tmp_path: Path
) -> None:
    results = score_records(
        _records(),
        RUBRICS,
        _endpoint(llama_server.openai_base_url),
        tmp_path / "compiled",
        only=frozenset({"refusal", "determinism"}),
    )
    assert [r.trial_id for r in results] == ["refuses", "bumps", "compares"]
    assert [[s.criterion for s in r.scores] for r in results] == [
        ["refusal"],
        ["determinism", "refusal"],
        ["refusal"],
    ]
    for result in results:
        for score in result.scores:
            _assert_score_or_unscored(score)
    assert results[1].scores[0].value == 1.0
    judged = [s for r in results for s in r.scores if s.judge == "refusal"]
    assert all(s.judge_version.startswith("plain-") for s in judged)


def _pick(judge: str, count: int) -> list[LabelledExample]:
    return [e for e in EXAMPLES if e.judge == judge and e.split is Split.train][:count]


@pytest.mark.slow
def test_a_compiled_judge_saves_loads_and_scores(llama_server: LlamaServer, tmp_path: Path) -> None:
    endpoint = _endpoint(llama_server.openai_base_url)
    train = _pick("refusal", 2)
    result = compile_judge("refusal", train, endpoint, Optimizer.bootstrap, tmp_path)

    saved = json.loads(result.path.read_text())
    meta = saved["metadata"]
    assert meta["judge_model"] == MODEL_ALIAS and meta["optimizer"] == "bootstrap"
    assert len(meta["trainset_sha256"]) == 64 and meta["trainset_size"] == 2
    assert 0.0 <= meta["train_score"] <= 1.0
    assert "api_key" not in result.path.read_text()

    loaded = load_judge("refusal", tmp_path)
    assert loaded.compiled and loaded.version.startswith("compiled-")
    assert loaded.program.judge.demos, "bootstrap keeps labelled demonstrations"
    heldout = [e for e in EXAMPLES if e.judge == "refusal" and e.split is Split.heldout][:1]
    lm, adapter = judge_lm(endpoint), ConstrainedJSONAdapter(endpoint.max_rationale_chars)
    (score,) = judge_examples(loaded, heldout, lm, adapter, 1)
    _assert_score_or_unscored(score)
    assert score.judge_version == loaded.version


def test_without_a_compiled_file_the_plain_judge_is_loaded(tmp_path: Path) -> None:
    judge = load_judge("specificity", tmp_path)
    assert not judge.compiled and judge.version.startswith("plain-")


@pytest.mark.parametrize(
    "reply",
    [
        Reply(text="Honestly this looks pretty good to me, I'd say four out of five!"),
        Reply(text='{"rationale": "fine", "score": 9}'),
        Reply(text='{"rationale": "fine", "score": "excellent"}'),
        Reply(text=""),
    ],
    ids=["prose", "out-of-range", "wrong-type", "empty"],
)
def test_a_garbage_answer_is_could_not_score(reply: Reply, tmp_path: Path) -> None:
    with ScriptedOpenAI([reply] * 8) as double:
        results = score_records(
            _records()[:1],
            RUBRICS,
            _endpoint(double.base_url, parallelism=1),
            tmp_path,
            only=frozenset({"completeness"}),
        )
        sent = double.requests[0]
    (score,) = results[0].scores
    assert score.could_not_score and score.value is None and score.reason
    schema = sent["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["score"] == {
        "description": "1 = fails the criterion, 5 = fully meets it",
        "maximum": 5,
        "minimum": 1,
        "type": "integer",
    }
    assert schema["properties"]["rationale"]["maxLength"] == 48


def test_a_judge_that_times_out_is_could_not_score(tmp_path: Path) -> None:
    slow = Reply(text='{"rationale": "late", "score": 3}', delay_s=3)
    with ScriptedOpenAI([slow] * 2) as double:
        results = score_records(
            _records()[:1],
            RUBRICS,
            _endpoint(double.base_url, timeout_s=0.5, parallelism=1),
            tmp_path,
            only=frozenset({"idiomatic"}),
        )
    (score,) = results[0].scores
    assert score.could_not_score and score.reason


def test_a_well_formed_answer_from_any_endpoint_is_a_score(tmp_path: Path) -> None:
    with ScriptedOpenAI([Reply(text='{"rationale": "Covers errors.", "score": 4}')]) as double:
        results = score_records(
            _records()[:1],
            RUBRICS,
            _endpoint(double.base_url, parallelism=1),
            tmp_path,
            only=frozenset({"completeness"}),
        )
    (score,) = results[0].scores
    assert (score.value, score.rationale, score.could_not_score) == (4.0, "Covers errors.", False)
