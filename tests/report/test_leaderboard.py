"""The leaderboard and its views on trials read back from a real sqlite MLflow store."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from benchlab.report.configs import Config
from benchlab.report.cost import Prices
from benchlab.report.leaderboard import leaderboard, overall
from benchlab.report.views import bits_per_weight, engine_effect, pareto_front, quant_degradation
from tests.report.trials import REPEATS, SPECS, TASKS, correctness

PRICES = Prices(api={"gpt-mini": (0.4, 1.6)}, host_per_hour=3.6)
Q8 = "qwen:Q8_0@aaaa00000001+pi"
Q4A, Q4B = "qwen:Q4_K_M@bbbb00000001+pi", "qwen:Q4_K_M@bbbb00000002+pi"
API = "gpt-mini+pi"


@pytest.fixture(scope="module")
def board(trials: pd.DataFrame) -> pd.DataFrame:
    return leaderboard(trials, PRICES)


def _row(board: pd.DataFrame, config: str, scope: str = "overall", group: str = "all") -> pd.Series:
    rows = board[
        (board["scope"] == scope) & (board["group"] == group) & (board["config"] == config)
    ]
    assert len(rows) == 1
    return rows.iloc[0]


def test_trial_table_has_one_typed_row_per_trial(trials: pd.DataFrame) -> None:
    # The sweep parent and the other sweep's trial are left out.
    assert len(trials) == len(SPECS) * len(TASKS) * REPEATS
    assert set(trials["config"]) == {Q8, Q4A, Q4B, API}
    assert trials["passed"].dtype == bool and str(trials["repeat"].dtype) == "Int64"
    assert trials["trial.wall_s"].dtype == float
    # The API model's runs have no repeat tag: their start order gives 0..3 per task.
    for _, group in trials.groupby(["config", "task"]):
        assert sorted(group["repeat"]) == list(range(REPEATS))
    expected = {
        (s.model, t, r): bool(s.passes[t][r])
        for s in SPECS
        if s.api
        for t in TASKS
        for r in range(REPEATS)
    }
    api = trials[trials["model"] == "gpt-mini"]
    assert {
        (m, t, r): p
        for m, t, r, p in api[["model", "task", "repeat", "passed"]].itertuples(index=False)
    } == expected


def test_overall_rows_count_passes_with_wilson_intervals(board: pd.DataFrame) -> None:
    top = overall(board)
    assert list(top["config"]) == [API, Q8, Q4A, Q4B]  # best pass rate first
    q8 = _row(board, Q8)
    assert (q8["n"], q8["passes"], q8["tasks"], q8["repeats"]) == (12, 6, 3, 4)
    # Wilson 6/12 by hand: center 0.5, half z/(1+z^2/12) * sqrt(1/48 + z^2/576).
    z = 1.959963984540054
    half = z / (1 + z * z / 12) * math.sqrt(0.25 / 12 + z * z / 576)
    assert (q8["pass_rate.lo"], q8["pass_rate.hi"]) == pytest.approx((0.5 - half, 0.5 + half))
    assert _row(board, API)["pass_rate"] == pytest.approx(11 / 12)


def test_pass_at_k_is_averaged_over_tasks(board: pd.DataFrame) -> None:
    q8 = _row(board, Q8)  # passes per task of 4: 3, 2, 1
    assert q8["pass@1"] == pytest.approx(0.5)
    assert q8["pass@2"] == pytest.approx((1 + (1 - 1 / 6) + (1 - 3 / 6)) / 3)
    assert q8["pass^2"] == pytest.approx((3 / 6 + 1 / 6 + 0) / 3)
    assert q8["pass@4"] == 1.0 and q8["pass^4"] == 0.0
    assert _row(board, API)["pass^4"] == pytest.approx(2 / 3)  # two tasks of three always pass


def test_per_task_and_archetype_rows(board: pd.DataFrame) -> None:
    assert len(board) == 4 * (1 + 3 + 3)
    plan = _row(board, API, "task", "plan")
    assert (plan["n"], plan["passes"]) == (4, 3)
    assert _row(board, Q4A, "archetype", "architectural_planning")["pass_rate"] == 0.0


def test_judge_means_have_seeded_bootstrap_intervals(
    trials: pd.DataFrame, board: pd.DataFrame
) -> None:
    for spec in SPECS:
        scores = [correctness(bool(spec.passes[t][r]), r) for t in TASKS for r in range(REPEATS)]
        row = _row(board, Config(spec.model, spec.quant, spec.cell, "pi").label)
        assert row["judge.correctness"] == pytest.approx(sum(scores) / len(scores))
        assert (
            row["judge.correctness.lo"] <= row["judge.correctness"] <= row["judge.correctness.hi"]
        )
    again = leaderboard(trials, PRICES)
    assert again["judge.correctness.lo"].equals(board["judge.correctness.lo"])


def test_medians_and_costs(board: pd.DataFrame) -> None:
    q4b, q8, api = _row(board, Q4B), _row(board, Q8), _row(board, API)
    assert (q4b["speed.tg_tps"], q4b["speed.pp_tps"], q4b["trial.wall_s"]) == (25, 250, 40)
    assert q8["engine.peak_rss_mb"] == pytest.approx(900) and q8["engine.load_time_s"] == 2
    assert math.isnan(api["speed.tg_tps"])
    assert api["cost.per_trial_usd"] == pytest.approx((1000 * 0.4 + 200 * 1.6) / 1e6)
    assert q8["cost.per_trial_usd"] == pytest.approx(60 / 3600 * 3.6)
    assert q8["cost.per_pass_usd"] == pytest.approx(12 * 0.06 / 6)
    assert q4b["cost.per_trial_usd"] == pytest.approx(40 / 3600 * 3.6 / 2)  # two slots share


def test_costs_are_unknown_without_prices(trials: pd.DataFrame) -> None:
    assert overall(leaderboard(trials))["cost.per_trial_usd"].isna().all()


def test_pareto_fronts(board: pd.DataFrame) -> None:
    top = overall(board)
    speed = top[pareto_front(top, "speed.tg_tps", True)]["config"]
    assert set(speed) == {Q8, Q4B}  # the API model has no tg speed, so no place on it
    wall = top[pareto_front(top, "trial.wall_s", False)]["config"]
    assert list(wall) == [API]


def test_quant_degradation_against_the_highest_precision_quant(trials: pd.DataFrame) -> None:
    table = quant_degradation(trials).set_index("quant")
    assert list(table.index) == ["Q8_0", "Q4_K_M"]
    assert table.loc["Q4_K_M", "n"] == 24 and table.loc["Q4_K_M", "reference"] == "Q8_0"
    assert table.loc["Q4_K_M", "pass_rate.delta"] == pytest.approx(0.25 - 0.5)
    assert table.loc["Q4_K_M", "speed.tg_ratio"] == pytest.approx(22.5 / 10)
    assert [bits_per_weight(q) for q in ("F16", "Q8_0", "IQ4_XS", "UD-Q2_K_XL")] == [16, 8, 4, 2]


def test_engine_effect_names_the_settings_that_differ(trials: pd.DataFrame) -> None:
    table = engine_effect(trials)
    assert list(table["cell"]) == ["bbbb00000002", "bbbb00000001"]  # fastest first
    assert list(table["settings"]) == ["batch_size=512, parallel=2", "batch_size=2048, parallel=1"]
    assert list(table["speed.tg_ratio"]) == pytest.approx([1.0, 0.8])


def test_trials_of_two_engine_builds_are_not_pooled() -> None:
    """A cell whose trials ran on two llama-server builds gives one configuration per
    build; a cell seen with one build keeps its plain name."""
    from benchlab.report.collect import trial_table

    def run(n: int, cell: str, sha: str) -> dict[str, object]:
        return {
            "run_id": f"r{n}",
            "start_time": pd.Timestamp("2026-12-01", tz="UTC") + pd.Timedelta(minutes=n),
            "tags.kind": "trial",
            "tags.trial_id": f"t{n}",
            "tags.model": "qwen",
            "tags.quant": "Q4_K_M",
            "tags.cell": cell,
            "tags.harness": "pi",
            "tags.task": "sample",
            "tags.status": "passed",
            "tags.repeat": str(n),
            "params.engine.build.sha": sha,
        }

    runs = pd.DataFrame(
        [run(0, "c1", "aaaa"), run(1, "c1", "bbbb"), run(2, "c1", "bbbb"), run(3, "c2", "aaaa")]
    )
    table = trial_table(runs)
    assert table.groupby("config").size().to_dict() == {
        "qwen:Q4_K_M@c1/aaaa+pi": 1,
        "qwen:Q4_K_M@c1/bbbb+pi": 2,
        "qwen:Q4_K_M@c2+pi": 1,
    }


def test_speed_under_contention_is_marked_and_token_totals_are_given(board: pd.DataFrame) -> None:
    from benchlab.report.table import columns, notes, text_rows

    top = overall(board)
    contended = dict(zip(top["config"], top["speed.contended"], strict=True))
    # Repeat 0 of each of the 3 tasks on the second Q4_K_M cell ran beside another engine.
    assert contended[Q4B] == 3 and contended[Q4A] == 0 and contended[Q8] == 0
    assert math.isnan(contended[API])  # no engine, no host load recorded
    n = len(TASKS) * REPEATS
    assert set(top["tokens.input.total"]) == {1000.0 * n}
    assert set(top["tokens.output.total"]) == {200.0 * n}
    shown = columns(top, 4, [])
    rows = {
        row[0]: dict(zip([c.header for c in shown], row, strict=True))
        for row in text_rows(top, shown)
    }
    assert rows[Q4B]["tg tok/s"].endswith("*") and not rows[Q4A]["tg tok/s"].endswith("*")
    assert rows[Q8]["total tokens in/out"] == f"{1000 * n}/{200 * n}"
    assert any("contention" in note for note in notes(top))


def test_pass_at_k_of_a_row_with_fewer_repeats_shows_its_own_k() -> None:
    from benchlab.report.table import columns, text_rows

    rows = pd.DataFrame(
        [
            {"config": "a", "n": 4, "pass_rate": 0.5, "pass_rate.lo": 0.1, "pass_rate.hi": 0.9,
             "repeats": 4.0, "pass@1": 0.5, "pass@4": 0.9, "pass^1": 0.5, "pass^4": 0.1},
            {"config": "b", "n": 1, "pass_rate": 1.0, "pass_rate.lo": 0.2, "pass_rate.hi": 1.0,
             "repeats": 1.0, "pass@1": 1.0, "pass@4": math.nan, "pass^1": 1.0,
             "pass^4": math.nan},
        ]
    )  # fmt: skip
    shown = columns(rows, 4, [])
    a, b = text_rows(rows, shown)
    headers = [c.header for c in shown]
    assert a[headers.index("pass@4")] == "90%"
    assert b[headers.index("pass@4")] == "100% (k=1)" and b[headers.index("pass^4")] == "100% (k=1)"


def _table(rows: list[tuple[str, str, int, str]]) -> pd.DataFrame:
    """A trial table from (cell, task, repeat, status) rows, as MLflow would give it."""
    from benchlab.report.collect import trial_table

    runs = pd.DataFrame(
        [
            {
                "run_id": f"r{n}",
                "start_time": pd.Timestamp("2026-12-01", tz="UTC") + pd.Timedelta(minutes=n),
                "tags.kind": "trial", "tags.trial_id": f"t{n}", "tags.model": "qwen",
                "tags.quant": "Q4_K_M", "tags.cell": cell, "tags.harness": "pi",
                "tags.task": task, "tags.status": status, "tags.repeat": str(repeat),
                "metrics.trial.wall_s": 0.5 if status == "error" else 100.0,
                "metrics.turns": 0.0 if status == "error" else 6.0,
            }
            for n, (cell, task, repeat, status) in enumerate(rows)
        ]
    )  # fmt: skip
    return trial_table(runs)


def test_errors_are_not_attempts() -> None:
    """An engine that never started (two errors) beside one real, failed trial: n is 1,
    the pass rate and the medians are the failed trial's, the errors column says 2."""
    from benchlab.report.table import columns, notes, text_rows

    trials = _table(
        [("c1", "sample", 0, "error"), ("c1", "sample", 1, "error"), ("c1", "sample", 2, "failed"),
         ("c2", "sample", 0, "error")]
    )  # fmt: skip
    top = overall(leaderboard(trials))
    one = top[top["config"] == "qwen:Q4_K_M@c1+pi"].iloc[0]
    assert (one["n"], one["errors"], one["passes"], one["pass_rate"]) == (1, 2, 0, 0.0)
    assert one["trial.wall_s"] == 100.0 and one["turns"] == 6.0  # not pooled with errors
    assert one["repeats"] == 1 and one["pass@1"] == 0.0
    only_errors = top[top["config"] == "qwen:Q4_K_M@c2+pi"].iloc[0]
    assert (only_errors["n"], only_errors["errors"]) == (0, 1)
    assert math.isnan(only_errors["pass_rate"])
    shown = columns(top, 1, [])
    headers = [c.header for c in shown]
    assert "errors" in headers
    rows = {r[0]: dict(zip(headers, r, strict=True)) for r in text_rows(top, shown)}
    assert rows["qwen:Q4_K_M@c1+pi"]["errors"] == "2" and rows["qwen:Q4_K_M@c1+pi"]["n"] == "1"
    assert any(note.startswith("errors:") for note in notes(top))
    # A clean sweep shows no errors column.
    clean = overall(leaderboard(_table([("c1", "sample", 0, "passed")])))
    assert "errors" not in [c.header for c in columns(clean, 1, [])]


def test_compare_pairs_task_outcomes_only() -> None:
    from benchlab.report.compare import compare

    trials = _table(
        [("c1", "sample", 0, "passed"), ("c1", "sample", 1, "error"),
         ("c2", "sample", 0, "failed"), ("c2", "sample", 1, "passed")]
    )  # fmt: skip
    result = compare(trials, "qwen:Q4_K_M@c1+pi", "qwen:Q4_K_M@c2+pi")
    assert result.pairs == 1 and (result.a_passes, result.b_passes) == (1, 0)
