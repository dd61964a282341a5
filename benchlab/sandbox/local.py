"""The local sandbox: commands run on the host, each in its own process group."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from benchlab.sandbox.base import Command

log = logging.getLogger(__name__)

ISOLATION = (
    "local: the agent's tools run on this host as your user, in a temporary clone with "
    "its own HOME; they can read and write any file you can, reach the network, and "
    "use all CPU and memory. Only the process group is contained: it is killed at the end."
)


class LocalSession:
    """Commands unchanged: the caller's process group handling is the only containment."""

    def wrap(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> Command:
        """Return the command as it is."""
        return Command(tuple(argv), cwd, dict(env))


class LocalSandbox:
    """Runs the agent on the host; warns once per process that tools are not contained."""

    name = "local"
    isolation = ISOLATION
    _warned = False

    @contextmanager
    def session(
        self,
        trial_dir: Path,
        workspace: Path,
        *,
        readonly: Sequence[Path] = (),
    ) -> Iterator[LocalSession]:
        """Open a local session (nothing to start or stop)."""
        if not LocalSandbox._warned:
            LocalSandbox._warned = True
            log.warning("sandbox %s", ISOLATION)
        yield LocalSession()
