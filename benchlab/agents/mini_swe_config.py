"""mini-swe-agent's per-trial configuration: its config file and its environment.

The config file is merged over mini-swe-agent's own ``mini.yaml`` (``-c mini.yaml -c
FILE``), so the agent keeps its stock prompts and only what benchlab must decide
changes: the model behind the gateway, no limits of its own (the gateway enforces
the trial's), the working directory, and the task, which goes in the file rather than
on the command line so that it is never taken for an option.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from benchlab.agents.base import AgentEndpoint
from benchlab.agents.home import agent_env

COMMAND_TIMEOUT_S = 120
"""Longest time one bash action may run (mini-swe-agent's default is 30 s)."""
DEFAULT_SYSTEM = "You are a helpful assistant that can interact with a computer.\n"
"""mini-swe-agent's system prompt, used when its ``mini.yaml`` cannot be read."""


def jinja_literal(text: str) -> str:
    """``text`` escaped so that a Jinja template renders it verbatim."""
    # Every Jinja tag starts with '{'; printing it as an expression disarms them all.
    return text.replace("{", "{{ '{' }}")


def stock_config(prefix: Path) -> Path | None:
    """The installed mini-swe-agent's own ``mini.yaml``.

    Named by its absolute path: a bare ``mini.yaml`` is looked up in the working
    directory first, where the repository could shadow it.
    """
    return next(iter(prefix.glob("lib/python*/site-packages/minisweagent/config/mini.yaml")), None)


def stock_system_template(stock: Path) -> str:
    """The system prompt of mini-swe-agent's ``mini.yaml``."""
    try:
        template = yaml.safe_load(stock.read_text())["agent"]["system_template"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return DEFAULT_SYSTEM
    return template if isinstance(template, str) else DEFAULT_SYSTEM


def trial_config(
    workspace: Path,
    endpoint: AgentEndpoint,
    prompt: str,
    *,
    system_template: str | None,
    command_timeout_s: int,
) -> dict[str, Any]:
    """The config merged over ``mini.yaml`` for one trial."""
    agent: dict[str, Any] = {
        "mode": "yolo",
        "confirm_exit": False,
        "step_limit": 0,
        "cost_limit": 0,
    }
    if system_template is not None:
        agent["system_template"] = system_template
    return {
        "run": {"task": prompt},
        "agent": agent,
        "environment": {
            "environment_class": "local",
            "cwd": str(workspace),
            "timeout": command_timeout_s,
        },
        "model": {
            "model_class": "litellm",
            # litellm's generic OpenAI-compatible client, pointed at the gateway route.
            "model_name": f"openai/{endpoint.model}",
            "cost_tracking": "ignore_errors",
            "model_kwargs": {
                "api_base": endpoint.base_url,
                "api_key": endpoint.api_key,
                "max_tokens": endpoint.max_output_tokens,
                "drop_params": True,
                # Retries would hide failed calls from the trial; the gateway sees each.
                "max_retries": 0,
                "num_retries": 0,
            },
        },
    }


def write_config(path: Path, config: dict[str, Any]) -> None:
    """Write the config as YAML (mini-swe-agent finds config files by the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))


def mini_env(base: Path, host_env: Mapping[str, str] | None) -> dict[str, str]:
    """mini-swe-agent's environment: host PATH/TLS only; its dirs, HOME and XDG under ``base``."""
    env = agent_env(base, host_env)
    env.update(
        # Its global .env, history and default trajectory live here, not in the home.
        MSWEA_GLOBAL_CONFIG_DIR=str(base / "global"),
        # Without it, the first run asks for a model and key on the terminal.
        MSWEA_CONFIGURED="true",
        MSWEA_SILENT_STARTUP="1",
        MSWEA_COST_TRACKING="ignore_errors",
        MSWEA_MODEL_RETRY_STOP_AFTER_ATTEMPT="1",
        # litellm would otherwise fetch its price list from the internet at import.
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        PYTHONUNBUFFERED="1",
        # The install may be mounted read-only; caches in the workspace would show in the diff.
        PYTHONDONTWRITEBYTECODE="1",
        NO_COLOR="1",
        TERM="dumb",
    )
    return env
