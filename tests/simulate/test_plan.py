"""Expanding a simulate request: targets, trial keys, seeds and sweep ids."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from benchlab.config.simulate import SimulateRequest
from benchlab.errors import UsageError
from benchlab.settings import Settings
from benchlab.simulate.plan import engine_overrides, plan_simulation

REPO = Path(__file__).resolve().parents[2]

MODELS = """
engine:
  threads: 2
models:
  - name: small
    repo_id: org/small
    quant_tags: [Q4_K_M, Q8_0]
  - name: api
    provider: openai
    base_url: http://127.0.0.1:9/v1
    api_key_env: BENCHLAB_TEST_KEY
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    models = tmp_path / "models.yaml"
    models.write_text(textwrap.dedent(MODELS).lstrip())
    return Settings(data_dir=tmp_path / "data", models_file=models, tasks_dir=REPO / "tasks")


def test_targets_keys_and_size(settings: Settings) -> None:
    plan = plan_simulation(settings, SimulateRequest(tasks=("sample",), repeats=3))
    assert [(t.model.name, t.quant) for t in plan.targets] == [
        ("small", "Q4_K_M"),
        ("small", "Q8_0"),
        ("api", ""),
    ]
    assert plan.size == 3 * 1 * 1 * 3
    keys = [k for t in plan.targets for k in plan.keys(t)]
    assert len({k.text for k in keys}) == 9
    assert len({k.seed for k in keys}) == 9  # every repeat its own seed
    api = plan.targets[2]
    assert api.id.startswith("api-") and api.slots == 4 and api.cell is None


def test_sweep_override_gives_four_cells_with_stable_distinct_ids(settings: Settings) -> None:
    request = SimulateRequest(
        models=("small",),
        quants=("Q4_K_M",),
        engine=("batch_size=512,2048", "cache_type_k=f16,q8_0"),
    )
    first = plan_simulation(settings, request)
    again = plan_simulation(settings, request)
    ids = [t.id for t in first.targets]
    assert len(set(ids)) == 4 and [t.id for t in again.targets] == ids
    assert {
        (t.cell.engine.batch_size, t.cell.engine.cache_type_k) for t in first.targets if t.cell
    } == {
        (512, "f16"),
        (512, "q8_0"),
        (2048, "f16"),
        (2048, "q8_0"),
    }
    assert first.sweep_id == again.sweep_id


def test_sweep_id_ignores_repeats_and_follows_content(settings: Settings) -> None:
    one = plan_simulation(settings, SimulateRequest(models=("small",), repeats=1))
    five = plan_simulation(settings, SimulateRequest(models=("small",), repeats=5))
    other = plan_simulation(settings, SimulateRequest(models=("api",)))
    named = plan_simulation(settings, SimulateRequest(models=("small",), name="nightly"))
    assert one.sweep_id == five.sweep_id != other.sweep_id
    assert named.sweep_id == "nightly"
    # More repeats extend the same trials: the first repeat keeps its key and seed.
    assert (
        plan_simulation(settings, SimulateRequest(models=("small",), repeats=1)).keys(
            one.targets[0]
        )[0]
        == five.keys(five.targets[0])[0]
    )


def test_filters(settings: Settings) -> None:
    by_provider = plan_simulation(settings, SimulateRequest(providers=("openai",)))
    assert [t.model.name for t in by_provider.targets] == ["api"]
    by_quant = plan_simulation(settings, SimulateRequest(quants=("Q8_0",), providers=("local",)))
    assert [(t.model.name, t.quant) for t in by_quant.targets] == [("small", "Q8_0")]


@pytest.mark.parametrize(
    ("request_args", "message"),
    [
        ({"models": ("nope",)}, "unknown model 'nope'; valid: api, small"),
        ({"agents": ("nope",)}, "unknown agent 'nope'; valid:"),
        ({"quants": ("Q2_K",)}, "unknown quant 'Q2_K'; valid: Q4_K_M, Q8_0"),
        ({"providers": ("acme",)}, "unknown provider 'acme'; valid: local, openai"),
        ({"tasks": ("missing",)}, "missing"),
        ({"engine": ("batch_size",)}, "expected FIELD=VALUE"),
        ({"engine": ("warp=9",)}, "unknown engine setting 'warp'"),
        ({"engine": ("batch_size=-1",)}, "--engine batch_size"),
    ],
)
def test_bad_requests_are_usage_errors(
    settings: Settings, request_args: dict[str, tuple[str, ...]], message: str
) -> None:
    with pytest.raises(UsageError, match=None) as caught:
        plan_simulation(settings, SimulateRequest(**request_args))  # type: ignore[arg-type]
    assert message in str(caught.value)
    assert caught.value.exit_code == 2


def test_engine_overrides_parse_values() -> None:
    section = engine_overrides(("batch_size=512,2048", "flash_attn=on"))
    assert section is not None
    assert section.batch_size == (512, 2048) and section.flash_attn == "on"
    assert engine_overrides(()) is None
