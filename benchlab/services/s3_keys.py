"""The S3 endpoint benchlab talks to, a boto3 client for it, and the local server's keys."""

from __future__ import annotations

import json
import os
import secrets
import string
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from pydantic import BaseModel, ConfigDict, SecretStr

CREDENTIALS_FILE = "credentials.json"


class S3Endpoint(BaseModel):
    """Where an S3 API answers and the keys to use it; the keys never appear in a repr."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    url: str
    """Base URL of the S3 API, e.g. ``http://127.0.0.1:8333``."""

    access_key: SecretStr
    """Access key id."""

    secret_key: SecretStr
    """Secret access key."""

    region: str = "us-east-1"
    """Region given to the S3 client."""


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only, replacing it atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)
    os.replace(tmp, path)


def load_credentials(root: Path) -> tuple[SecretStr, SecretStr]:
    """The server's access and secret key, generated on first use and kept in ``root``.

    Returns:
        The access key and the secret key.
    """
    path = root / CREDENTIALS_FILE
    if path.exists():
        data = json.loads(path.read_text())
        return SecretStr(data["access_key"]), SecretStr(data["secret_key"])
    alphabet = string.ascii_uppercase + string.digits
    access = "BL" + "".join(secrets.choice(alphabet) for _ in range(18))
    secret = secrets.token_urlsafe(30)
    root.mkdir(parents=True, exist_ok=True)
    write_private(path, json.dumps({"access_key": access, "secret_key": secret}))
    return SecretStr(access), SecretStr(secret)


def s3_client(endpoint: S3Endpoint, *, max_attempts: int = 5) -> Any:
    """A boto3 S3 client for ``endpoint``: path-style addressing, retries with backoff."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint.url,
        aws_access_key_id=endpoint.access_key.get_secret_value(),
        aws_secret_access_key=endpoint.secret_key.get_secret_value(),
        region_name=endpoint.region,
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": max_attempts, "mode": "standard"},
            connect_timeout=10,
            read_timeout=300,
            # Flexible checksums are not implemented by every S3-compatible server.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )
