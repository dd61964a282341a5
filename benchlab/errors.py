"""The one error hierarchy of benchlab.

Every error a user can cause or fix derives from :class:`BenchlabError`; the CLI
prints its message on one line and exits with its ``exit_code``. Anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Characters that would break a problem's one line or steer the terminal: control
# characters, Unicode line and paragraph separators, bidirectional overrides.
UNPRINTABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def one_line(text: str) -> str:
    """``text`` with every character that is not plainly printable escaped (``\\n``)."""
    return UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class BenchlabError(Exception):
    """An error with a one-line message meant for the user."""

    exit_code = 1


class UsageError(BenchlabError):
    """Wrong command-line usage or an unknown name."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One problem found in a configuration file."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.field}:" if self.field else ""
        # Fields and messages quote the file's own text, which may hold line breaks.
        return one_line(f"{where}:{field} {self.message}")


class ConfigError(BenchlabError):
    """One or more problems in configuration files, reported before any work."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ServiceError(BenchlabError):
    """A local service (S3, MLflow, Prefect, llama-server) failed to start or answer."""


class MissingToolError(BenchlabError):
    """A program benchlab needs is not installed; the message says how to get it."""


class StoreError(BenchlabError):
    """An object store operation failed: missing object, checksum mismatch."""


class ChecksumError(StoreError):
    """Bytes did not hash to the expected sha256."""


class EngineError(BenchlabError):
    """The inference engine failed to start, died, or answered badly."""


class AgentError(BenchlabError):
    """A coding-agent harness could not be installed, started or understood."""


def unknown_name(kind: str, name: str, choices: list[str] | tuple[str, ...]) -> UsageError:
    """An error for a name that is not among the valid choices, listing them."""
    listed = ", ".join(sorted(choices)) or "(none defined)"
    return UsageError(f"unknown {kind} {name!r}; valid: {listed}")
