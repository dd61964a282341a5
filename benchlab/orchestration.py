"""Prefect's configuration, applied before Prefect is imported.

Prefect reads its settings from the environment when it is first imported, so the
values benchlab derives from its own settings are written there first.
"""

from __future__ import annotations

import os

from benchlab.settings import Settings

# The temporary server needs longer than Prefect's default to start on a busy 2-core box.
EPHEMERAL_STARTUP_TIMEOUT_S = 120


def configure_prefect(settings: Settings) -> None:
    """Point Prefect at the configured API, or at a temporary server under the data dir."""
    home = settings.state_dir / "prefect"
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(home))
    os.environ.setdefault(
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(EPHEMERAL_STARTUP_TIMEOUT_S)
    )
    # No telemetry: it needs the network, and its heartbeat races the sqlite store.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Flows run in-process: results stay in memory, nothing is written to ~/.prefect.
    os.environ.setdefault("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "false")
    if settings.prefect_api_url:
        os.environ["PREFECT_API_URL"] = settings.prefect_api_url
