"""opencode's per-trial configuration: its config file and its environment."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchlab.agents.base import AgentEndpoint
from benchlab.agents.home import agent_env

PROVIDER = "benchlab"
"""The provider name benchlab's generated config defines."""

PERMISSIONS = {
    # Nobody is there to answer a question: each tool is allowed or denied up front.
    "edit": "allow",
    "bash": "allow",
    "doom_loop": "allow",
    "external_directory": "deny",
    "question": "deny",
    # Trials run offline against the gateway.
    "webfetch": "deny",
    "websearch": "deny",
}


def write_config(path: Path, endpoint: AgentEndpoint, instructions: Path | None) -> None:
    """Write the ``opencode.json`` of one trial (named by ``OPENCODE_CONFIG``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    model = f"{PROVIDER}/{endpoint.model}"
    provider = {
        "npm": "@ai-sdk/openai-compatible",
        "name": PROVIDER,
        "options": {"baseURL": endpoint.base_url, "apiKey": endpoint.api_key},
        "models": {
            endpoint.model: {
                "name": endpoint.model,
                "tool_call": True,
                "limit": {
                    "context": endpoint.context_window,
                    "output": endpoint.max_output_tokens,
                },
                "cost": {"input": 0, "output": 0},
            }
        },
    }
    config: dict[str, Any] = {
        "$schema": "https://opencode.ai/config.json",
        "provider": {PROVIDER: provider},
        "model": model,
        # Titles and summaries go to the same model, never to a provider of its own choice.
        "small_model": model,
        "autoupdate": False,
        "share": "disabled",
        # Its shadow git repository of the workspace is not needed: benchlab diffs.
        "snapshot": False,
        "permission": PERMISSIONS,
    }
    if instructions is not None:
        config["instructions"] = [str(instructions)]
    path.write_text(json.dumps(config, indent=2))


def opencode_env(base: Path, config: Path, host_env: Mapping[str, str] | None) -> dict[str, str]:
    """opencode's environment: host PATH/TLS only; HOME, XDG and its config under ``base``."""
    env = agent_env(base, host_env)
    home = base / "home"
    env.update(
        OPENCODE_CONFIG=str(config),
        # The repository's own opencode.json must not change the model or permissions.
        OPENCODE_DISABLE_PROJECT_CONFIG="1",
        OPENCODE_DISABLE_AUTOUPDATE="1",
        OPENCODE_DISABLE_MODELS_FETCH="1",
        OPENCODE_DISABLE_SHARE="1",
        OPENCODE_DISABLE_LSP_DOWNLOAD="1",
        OPENCODE_DISABLE_DEFAULT_PLUGINS="1",
        OPENCODE_DISABLE_CLAUDE_CODE="1",
        OPENCODE_DISABLE_EXTERNAL_SKILLS="1",
        # Like pi's: no summary calls the trial did not ask for.
        OPENCODE_DISABLE_AUTOCOMPACT="1",
        # opencode installs its plugin package in the background; offline, that fails
        # at once instead of reaching the registry.
        npm_config_offline="true",
        npm_config_cache=str(home / "cache" / "npm"),
        NO_COLOR="1",
        TERM="dumb",
    )
    return env
