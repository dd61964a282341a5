"""Dataset versions: a content hash of a curation's records, and ``NAME@VERSION`` refs.

A dataset accumulates the records of every curation into it (one per trial, keyed by
trial id). A version names exactly the records one curation produced: its id is a hash
of their content, so curating the same trials again gives the same version, and any
change (a new trial, a new trimming budget, a changed guideline) gives a new one. Each
version is recorded by a companion MLflow run (tag ``kind=curation``) holding the
filters, the record count and the list of trial ids.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from benchlab.errors import UsageError

VERSION_CHARS = 16
"""Hex digits of the sha256 kept as the version id."""

REF = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)@(?P<version>[0-9a-f]{16})$")


def content_version(records: Iterable[dict[str, Any]]) -> str:
    """The version id of a set of records: sha256 of their canonical JSON, by trial id.

    The order the records come in does not matter; every byte of their content does.
    """
    ordered = sorted(records, key=lambda r: str(r["inputs"]["trial_id"]))
    digest = hashlib.sha256()
    for record in ordered:
        digest.update(json.dumps(record, sort_keys=True, separators=(",", ":")).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:VERSION_CHARS]


@dataclass(frozen=True)
class DatasetRef:
    """A dataset version, as ``NAME@VERSION``."""

    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"

    @classmethod
    def parse(cls, text: str) -> DatasetRef:
        """Read ``NAME@VERSION``.

        Raises:
            UsageError: The text is not of that form.
        """
        match = REF.match(text.strip())
        if match is None:
            raise UsageError(
                f"{text!r} is not a dataset version: expected NAME@VERSION "
                f"({VERSION_CHARS} hex digits)"
            )
        return cls(match["name"], match["version"])
