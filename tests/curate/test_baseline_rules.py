"""The baseline metrics' rules on hand-built trials: loops, heuristics, tool use, speed."""

from __future__ import annotations

import pytest

from benchlab.curate.baseline import baseline_metrics, loop_runs, nearest_rank
from benchlab.curate.cells import by_cell
from benchlab.curate.heuristics import apology_count, is_refusal
from benchlab.results import AgentStep, EngineInfo
from tests.curate.builders import MS, T0, call, result, usage

LS = ("bash", {"command": "ls"})


def test_three_identical_calls_in_a_row_are_a_loop() -> None:
    calls = (call(0, LS), call(1, LS), call(2, LS))
    assert loop_runs(calls) == [3]
    metrics = baseline_metrics(result(*calls))
    assert metrics["baseline.loops"] == 1
    assert metrics["baseline.loops.longest"] == 3


def test_three_different_bash_commands_are_not_a_loop() -> None:
    calls = tuple(call(i, ("bash", {"command": c})) for i, c in enumerate(["ls", "pwd", "cat x"]))
    assert loop_runs(calls) == []
    metrics = baseline_metrics(result(*calls))
    assert metrics["baseline.loops"] == 0
    assert metrics["baseline.loops.longest"] == 0


def test_key_order_and_spacing_do_not_make_calls_different() -> None:
    calls = (
        call(0, ("read", '{"path": "a.py", "offset": 1}')),
        call(1, ("read", '{"offset":1,"path":"a.py"}')),
        call(2, ("read", '{ "path" : "a.py" , "offset" : 1 }')),
    )
    assert loop_runs(calls) == [3]


def test_two_identical_calls_are_a_loop_only_when_asked_so() -> None:
    calls = (call(0, LS), call(1, LS), call(2, ("bash", {"command": "pwd"})), call(3, LS))
    assert loop_runs(calls) == []
    assert loop_runs(calls, repeats=2) == [2]
    assert baseline_metrics(result(*calls), loop_repeats=2)["baseline.loops"] == 1


def test_identical_calls_within_one_answer_count_in_a_row() -> None:
    calls = (call(0, LS, LS), call(1, LS, ("bash", {"command": "pwd"})), call(2, LS, LS, LS, LS))
    assert loop_runs(calls) == [3, 4]


@pytest.mark.parametrize(
    "answer",
    [
        "I can't help with that request.",
        "I cannot help you modify this repository.",
        "As an AI, I do not have access to your files.",
        "I\u2019m unable to run commands here.",
        "Sorry, I won't do that.",
    ],
)
def test_refusals_are_flagged(answer: str) -> None:
    assert is_refusal(answer)
    assert (
        baseline_metrics(result(call(0, text=answer), final=answer))["baseline.heuristic.refusal"]
        == 1
    )


@pytest.mark.parametrize(
    "answer",
    ["Added divide to calc.py; the tests pass.", "The cannon fired.", "Scanning the AIX docs."],
)
def test_ordinary_answers_are_not_refusals(answer: str) -> None:
    assert not is_refusal(answer)


def test_repeated_apologies_count_as_sycophancy() -> None:
    answers = ["Sorry, my mistake.", "I apologise for the confusion. My apologies again!"]
    assert apology_count(answers) == 3
    metrics = baseline_metrics(result(*(call(i, text=a) for i, a in enumerate(answers))))
    assert metrics["baseline.heuristic.apologies"] == 3
    assert metrics["baseline.heuristic.sycophancy"] == 1
    one = baseline_metrics(result(call(0, text="Sorry about that. Done.")))
    assert (one["baseline.heuristic.apologies"], one["baseline.heuristic.sycophancy"]) == (1, 0)


def test_final_answer_falls_back_to_the_last_model_answer() -> None:
    trial = result(call(0, text="I cannot do that."), final="")
    assert baseline_metrics(trial)["baseline.heuristic.refusal"] == 1


def test_tool_use_counts_errors_hallucinations_and_invalid_json() -> None:
    first = call(0, ("bash", {"command": "ls"}), ("bash", {"command": "pwd"}))
    bad = first.tool_calls[1].model_copy(
        update={"name": "rm_rf", "arguments": "{oops", "offered": False, "valid_json": False}
    )
    first = first.model_copy(update={"tool_calls": (first.tool_calls[0], bad)})
    steps = (AgentStep(tool="bash", output="a"), AgentStep(tool="rm_rf", is_error=True))
    metrics = baseline_metrics(result(first, call(1, text="done"), steps=steps))
    assert metrics["baseline.tool_calls.total"] == 2
    assert metrics["baseline.tool_calls.by_tool.bash"] == 1
    assert metrics["baseline.tool_calls.by_tool.rm_rf"] == 1
    assert metrics["baseline.tool_calls.hallucinated"] == 1
    assert metrics["baseline.tool_calls.hallucinated_rate"] == 0.5
    assert metrics["baseline.schema_adherence"] == 0.5
    assert metrics["baseline.tool_error_rate"] == 0.5
    # Untimed steps: the tool time is the gap after the call that asked for them.
    assert metrics["baseline.time.tools_s"] == pytest.approx(0.9)
    assert metrics["baseline.time.model_s"] == pytest.approx(0.2)


def test_timed_steps_give_the_tool_time() -> None:
    steps = (
        AgentStep(tool="bash", start_ns=T0 + 200 * MS, end_ns=T0 + 450 * MS),
        AgentStep(tool="bash", start_ns=T0 + 500 * MS, end_ns=T0 + 600 * MS),
    )
    metrics = baseline_metrics(result(call(0, LS, LS), call(1), steps=steps))
    assert metrics["baseline.time.tools_s"] == pytest.approx(0.35)


def test_system_metrics_from_timings_ttft_and_engine() -> None:
    calls = (
        call(0, timings={"prompt_n": 100, "prompt_ms": 500, "predicted_n": 10,
                         "predicted_ms": 1000}, ttft_s=0.5, usage=usage(100, 10)),
        call(1, timings={"prompt_n": 300, "prompt_ms": 500, "predicted_n": 30,
                         "predicted_ms": 1000}, ttft_s=0.1, usage=usage(400, 30)),
        call(2, ttft_s=2.0),
    )  # fmt: skip
    engine = EngineInfo(kind="llama-server", load_time_s=1.25, peak_rss_bytes=512 * 2**20)
    metrics = baseline_metrics(result(*calls, engine=engine))
    # Tokens over time, not the mean of the per-call rates: 400 / 1.0 s and 40 / 2.0 s.
    assert metrics["baseline.speed.pp_tps"] == 400
    assert metrics["baseline.speed.tg_tps"] == 20
    assert metrics["baseline.ttft.p50_s"] == 0.5
    assert metrics["baseline.ttft.p95_s"] == 2.0
    assert metrics["baseline.engine.load_time_s"] == 1.25
    assert metrics["baseline.engine.peak_rss_mb"] == 512
    assert "baseline.engine.peak_vram_mb" not in metrics
    assert (metrics["baseline.tokens.input"], metrics["baseline.tokens.output"]) == (500, 40)
    assert metrics["baseline.turns"] == 3 and metrics["baseline.wall_s"] == 10


def test_absent_inputs_leave_metrics_out() -> None:
    metrics = baseline_metrics(result())
    for name in ("ttft.p50_s", "speed.pp_tps", "engine.load_time_s", "schema_adherence",
                 "tool_error_rate"):  # fmt: skip
        assert f"baseline.{name}" not in metrics
    assert metrics["baseline.turns"] == 0


def test_nearest_rank() -> None:
    assert nearest_rank([3.0, 1.0, 2.0], 0.5) == 2.0
    assert nearest_rank([float(i) for i in range(1, 21)], 0.95) == 19.0
    assert nearest_rank([7.0], 0.95) == 7.0


def test_per_cell_means_skip_absent_metrics() -> None:
    a = baseline_metrics(result(call(0, LS, ttft_s=1.0), trial_id="a", cell="x"))
    b = baseline_metrics(result(call(0, LS), call(1), trial_id="b", cell="x"))
    c = baseline_metrics(result(trial_id="c", cell="y"))
    table = by_cell([("x", a), ("x", b), ("y", c)])
    assert list(table.index) == ["x", "y"]
    assert table.loc["x", "trials"] == 2 and table.loc["y", "trials"] == 1
    assert table.loc["x", "baseline.turns"] == 1.5
    assert table.loc["x", "baseline.ttft.p50_s"] == 1.0  # b has none: not a zero
    assert table.columns[0] == "trials"
