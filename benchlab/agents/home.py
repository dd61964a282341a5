"""An agent's own HOME: every config, cache and temp dir inside its trial directory."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from benchlab.settings import inherited_env


def agent_env(base: Path, host_env: Mapping[str, str] | None) -> dict[str, str]:
    """The host's PATH/TLS variables (or ``host_env``), with HOME, the XDG dirs and
    TMPDIR under ``base/home``, so an agent never writes into the user's home.

    Args:
        base: The agent's directory in the trial.
        host_env: Host variables to start from; :func:`inherited_env` when None.

    Returns:
        A new dict; the harness adds its own variables.
    """
    env = dict(inherited_env() if host_env is None else host_env)
    home = base / "home"
    for sub in ("config", "cache", "data", "state", "tmp"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
        TMPDIR=str(home / "tmp"),
    )
    return env
