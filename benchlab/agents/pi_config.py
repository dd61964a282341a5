"""pi's per-trial configuration: its agent dir files and its environment."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchlab.agents.base import AgentEndpoint
from benchlab.agents.home import agent_env

PROVIDER = "benchlab"
"""The provider name benchlab's generated ``models.json`` defines."""

SETTINGS: dict[str, Any] = {
    # pi would otherwise ask the model for a summary of the whole context.
    "compaction": {"enabled": False},
    # Retries would hide failed calls from the trial; the gateway sees every call.
    "retry": {"enabled": False, "provider": {"maxRetries": 0}},
    "quietStartup": True,
    "enableInstallTelemetry": False,
}
COMPAT = {
    # llama-server and most proxies know neither the developer role, nor
    # reasoning_effort, nor store; max_tokens is the field they all read.
    "supportsDeveloperRole": False,
    "supportsReasoningEffort": False,
    "supportsStore": False,
    "maxTokensField": "max_tokens",
}


def pi_env(base: Path, host_env: Mapping[str, str] | None) -> dict[str, str]:
    """pi's environment: host PATH/TLS only; HOME, XDG dirs and pi's dirs under ``base``."""
    env = agent_env(base, host_env)
    home = base / "home"
    env.update(
        npm_config_cache=str(home / "cache" / "npm"),
        PI_CODING_AGENT_DIR=str(base / "agent"),
        PI_CODING_AGENT_SESSION_DIR=str(base / "sessions"),
        # No update checks or telemetry: trials run offline against the gateway.
        PI_OFFLINE="1",
        PI_SKIP_VERSION_CHECK="1",
        PI_TELEMETRY="0",
        NO_COLOR="1",
        TERM="dumb",
    )
    return env


def write_agent_dir(agent_dir: Path, endpoint: AgentEndpoint) -> None:
    """Write pi's ``models.json`` and ``settings.json`` for one trial."""
    agent_dir.mkdir(parents=True, exist_ok=True)
    model = {
        "id": endpoint.model,
        "name": endpoint.model,
        "reasoning": False,
        "input": ["text"],
        "contextWindow": endpoint.context_window,
        "maxTokens": endpoint.max_output_tokens,
        "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
    }
    provider = {
        "baseUrl": endpoint.base_url,
        "api": "openai-completions",
        "apiKey": endpoint.api_key,
        "compat": COMPAT,
        "models": [model],
    }
    models = {"providers": {PROVIDER: provider}}
    (agent_dir / "models.json").write_text(json.dumps(models, indent=2))
    settings = {**SETTINGS, "defaultProvider": PROVIDER, "defaultModel": endpoint.model}
    (agent_dir / "settings.json").write_text(json.dumps(settings, indent=2))
