"""Engine sweeps in models.yaml: cells, stable ids, exclude, and errors with lines."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from benchlab.config import EngineConfig, LocalModel, load_models
from benchlab.config.cells import Cell, sweep_cells
from benchlab.config.engine import DEFAULT_IMAGES
from benchlab.config.sweep import ENGINE_FIELDS, EngineAxes
from benchlab.errors import ConfigError

SWEEP = """
engine:
  threads: 2
  batch_size: [512, 2048]
  cache_type_k:
    - f16
    - q8_0
models:
  - name: m
    repo_id: org/m
    quant_tags: [Q4_K_M]
"""


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def cells_of(path: Path) -> list[Cell]:
    return sweep_cells(load_models(path))


def test_two_by_two_sweep_gives_four_cells_with_stable_distinct_ids(tmp_path: Path) -> None:
    path = write(tmp_path / "models.yaml", SWEEP)
    first, second = cells_of(path), cells_of(path)
    assert [(c.engine.batch_size, c.engine.cache_type_k) for c in first] == [
        (512, "f16"),
        (512, "q8_0"),
        (2048, "f16"),
        (2048, "q8_0"),
    ]
    ids = [c.id for c in first]
    assert len(set(ids)) == 4 and all(len(i) == 12 for i in ids)
    assert [c.id for c in second] == ids  # the same file gives the same ids

    # Any change to a cell's config changes its id...
    changed = cells_of(write(tmp_path / "changed.yaml", SWEEP.replace("threads: 2", "threads: 3")))
    assert not {c.id for c in changed} & set(ids)
    # ...and growing the sweep leaves the existing cells' ids alone.
    grown = cells_of(
        write(tmp_path / "grown.yaml", SWEEP.replace("[512, 2048]", "[512, 2048, 64]"))
    )
    assert len(grown) == 6 and set(ids) < {c.id for c in grown}


def test_id_is_the_hash_of_the_full_config(tmp_path: Path) -> None:
    [cell] = cells_of(
        write(
            tmp_path / "m.yaml",
            SWEEP.replace("[512, 2048]", "512").replace("    - f16\n    - q8_0", "    - f16"),
        )
    )
    # Defaults are resolved, so spelling them out gives the same cell.
    explicit = Cell(
        model=cell.model,
        quant="Q4_K_M",
        engine=EngineConfig(
            ctx_size=8192, batch_size=512, image=DEFAULT_IMAGES["cpu"], flash_attn="off"
        ),
    )
    assert explicit.id == cell.id
    assert Cell(model=cell.model, quant="Q8_0", engine=cell.engine).id != cell.id
    renamed = cell.model.model_copy(update={"revision": "v2"})
    assert Cell(model=renamed, quant="Q4_K_M", engine=cell.engine).id != cell.id


def test_exclude_and_model_overrides(tmp_path: Path) -> None:
    text = (
        SWEEP
        + """\
    engine:
      threads: [1, 4]
      extra_args: [["--no-warmup"], []]
      exclude:
        - {threads: 4, extra_args: []}
"""
    )
    text = text.replace(
        "models:", "  exclude:\n    - {batch_size: 512, cache_type_k: [q8_0, q4_0]}\nmodels:"
    )
    cells = cells_of(write(tmp_path / "models.yaml", text))
    combos = {
        (c.engine.batch_size, c.engine.cache_type_k, c.engine.threads, c.engine.extra_args)
        for c in cells
    }
    # 3 (batch x cache, one excluded) x 3 (threads x args, one excluded)
    assert len(cells) == len(combos) == 9
    assert not any(b == 512 and k == "q8_0" for b, k, _, _ in combos)
    assert not any(t == 4 and a == () for _, _, t, a in combos)
    assert {a for *_, a in combos} == {("--no-warmup",), ()}


def test_errors_point_at_the_bad_list_item(tmp_path: Path) -> None:
    path = write(
        tmp_path / "models.yaml",
        """
        engine:
          batch_size:
            - 512
            - 0
          flash_attn: off
          cache_type_k: [f16, 3]
          exclude:
            - {threads: many}
        models:
          - name: m
            repo_id: org/m
            quant_tags: [Q4_K_M]
            engine:
              parallel: []
              colour: [red]
        """,
    )
    with pytest.raises(ConfigError) as exc:
        load_models(path)
    lines = [str(p) for p in exc.value.problems]
    assert lines[0] == f"{path}:4: engine.batch_size[1]: Input should be greater than or equal to 1"
    assert lines[1] == f"{path}:6: engine.cache_type_k[1]: Input should be a valid string"
    assert lines[2].startswith(f"{path}:8: engine.exclude[0].threads: Input should be a valid")
    assert lines[3].startswith(f"{path}:14: models[0].engine.parallel: ")
    assert lines[4] == f"{path}:15: models[0].engine.colour: unknown key"
    assert len(lines) == 5  # flash_attn: off (a YAML boolean) is read as "off"


def test_exclude_of_everything_is_an_error(tmp_path: Path) -> None:
    text = SWEEP.replace("models:", "  exclude:\n    - {threads: 2}\nmodels:")
    path = write(tmp_path / "models.yaml", text)
    with pytest.raises(ConfigError) as exc:
        load_models(path)
    assert [str(p) for p in exc.value.problems] == [
        f"{path}:1: model 'm': exclude removes every combination"
    ]


def test_model_exclude_applies_to_the_top_level_sweep(tmp_path: Path) -> None:
    top = SWEEP.replace("threads: 2", "threads: [2, 3]")
    some = top + "    engine:\n      exclude: [{threads: 2}]\n"
    cells = cells_of(write(tmp_path / "some.yaml", some))
    assert len(cells) == 4 and {c.engine.threads for c in cells} == {3}
    every = top + "    engine:\n      exclude: [{threads: [2, 3]}]\n"
    with pytest.raises(ConfigError) as exc:
        load_models(write(tmp_path / "every.yaml", every))
    assert "model 'm': exclude removes every combination" in str(exc.value)


def test_sweep_fields_mirror_engine_config() -> None:
    assert tuple(EngineAxes.model_fields) == ENGINE_FIELDS


def test_shipped_file_has_one_cell_and_engine_for_still_works() -> None:
    models = load_models(Path(__file__).resolve().parents[2] / "models.yaml")
    [cell] = sweep_cells(models)
    model = models.get("gemma3-270m")
    assert isinstance(model, LocalModel)
    assert models.engine_for(model) == cell.engine
    assert cell.engine.image == DEFAULT_IMAGES["cpu"]
