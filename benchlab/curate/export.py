"""A dataset version's records as a parquet file, for pandas, DuckDB or a notebook.

Columns are flat: ``trial_id``, ``inputs.*``, ``outputs.*`` (the baseline metrics as
``metrics.<name>`` float columns, empty where a trial lacks one), ``tags.*``, and the
lists (checks, guidelines) as JSON text, since their shapes vary between tasks.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from benchlab.curate.records import Record
from benchlab.curate.version import DatasetRef

MISSING_PYARROW = (
    "parquet export skipped: pyarrow is not installed (add 'pyarrow' to the project's dependencies)"
)


def parquet_available() -> bool:
    """Whether pandas can write parquet here (pyarrow is installed)."""
    return importlib.util.find_spec("pyarrow") is not None


def flat_row(record: Record) -> dict[str, Any]:
    """One record as a flat row of scalar columns."""
    outputs = record["outputs"]
    row: dict[str, Any] = {"trial_id": record["inputs"]["trial_id"]}
    row.update({f"inputs.{k}": v for k, v in record["inputs"].items() if k != "trial_id"})
    for key, value in outputs.items():
        if key == "metrics":
            row.update({f"metrics.{k}": float(v) for k, v in value.items()})
        elif key == "checks":
            row["outputs.checks"] = json.dumps(value)
        else:
            row[f"outputs.{key}"] = value
    row["expectations.rubric"] = record["expectations"]["rubric"]
    row["expectations.guidelines"] = json.dumps(record["expectations"]["guidelines"])
    row.update({f"tags.{k}": v for k, v in record["tags"].items()})
    return row


ROW_GROUP = 250
"""Records converted and written at a time: memory stays bounded by one group."""

LONG_TEXT = ("inputs.prompt", "outputs.diff", "outputs.transcript", "outputs.final_answer")
"""Columns of long, unique text: dictionary encoding would only cost memory."""

BOOLEAN_COLUMNS = frozenset({"outputs.diff_truncated", "outputs.transcript_truncated"})


def _schema(records: list[Record]) -> Any:
    """Every column any record has: metrics as float64, flags as bool, the rest as text."""
    import pyarrow as pa

    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(flat_row(record)))
    metrics = sorted(n for n in names if n.startswith("metrics."))
    other = [n for n in names if not n.startswith("metrics.")]

    def kind(name: str) -> Any:
        if name.startswith("metrics."):
            return pa.float64()
        return pa.bool_() if name in BOOLEAN_COLUMNS else pa.string()

    return pa.schema([(n, kind(n)) for n in other + metrics])


def export_parquet(records: list[Record], ref: DatasetRef, folder: Path) -> Path | None:
    """Write ``folder/NAME@VERSION.parquet`` unless it exists; None without pyarrow.

    The file's name is its content's version, so an existing file is already right.
    Rows are sorted by trial id and written a row group at a time.
    """
    if not parquet_available():
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / f"{ref}.parquet"
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    ordered = sorted(records, key=lambda r: str(r["inputs"]["trial_id"]))
    schema = _schema(ordered)
    partial = path.with_suffix(".parquet.part")
    short = [n for n in schema.names if n not in LONG_TEXT]
    with pq.ParquetWriter(partial, schema, use_dictionary=short) as writer:
        for start in range(0, len(ordered), ROW_GROUP):
            rows = [flat_row(r) for r in ordered[start : start + ROW_GROUP]]
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
    partial.replace(path)
    return path
