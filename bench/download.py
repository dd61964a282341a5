"""Download stage throughput and memory: hub double to the local S3 server.

``uv run --frozen python bench/download.py [--size-mib 1024] [--runs 2]``

Each measured copy runs in a child process of its own, so that its peak RSS is its own:

- ``benchlab``: :func:`benchlab.download.transfer_file` (hub stream with the redirect,
  sha256 on the way, multipart upload with the sha256 in the metadata, one part at a time);
- ``plain``: the same bytes from the same double into the same S3 server, an ``httpx``
  GET piped into ``boto3``'s ``upload_fileobj`` (its defaults: 8 MiB parts, 10 threads),
  no hashing: what a copy costs without benchlab's guarantees;
- ``skip``: ``transfer_file`` again, the object being there: no bytes move.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

MiB = 1024 * 1024
REPO = "bench/big-GGUF"
NAME = "big-Q4_K_M.gguf"


class _Body:
    """A file-like view of an HTTP response body, read in the sizes asked for."""

    def __init__(self, chunks: Any) -> None:
        self._chunks = chunks
        self._buffer = bytearray()

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, b"")
            if not chunk:
                break
            self._buffer += chunk
        size = len(self._buffer) if size < 0 else size
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out


def child(job: dict[str, Any]) -> dict[str, Any]:
    """Run one copy in this process; returns seconds, bytes sent and peak RSS."""
    from pydantic import SecretStr

    from benchlab.config import LocalModel
    from benchlab.download import transfer_file
    from benchlab.download.plan import plan_download
    from benchlab.hub import Hub
    from benchlab.services.s3 import S3Endpoint
    from benchlab.store import ObjectStore

    endpoint = S3Endpoint(url=job["s3"], access_key=SecretStr(job["ak"]),
                          secret_key=SecretStr(job["sk"]))  # fmt: skip
    store = ObjectStore(endpoint, job["bucket"])
    hub = Hub(job["hub"])
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    if job["mode"] == "plain":
        import httpx

        url = hub.file_url(REPO, job["commit"], NAME)
        with (
            httpx.Client(follow_redirects=True, timeout=60) as client,
            client.stream("GET", url) as resp,
        ):
            resp.raise_for_status()
            store.client.upload_fileobj(_Body(resp.iter_bytes(MiB)), job["bucket"],
                                        f"plain/{uuid.uuid4().hex}")  # fmt: skip
        sent = job["size"]
    else:
        model = LocalModel(name="big", repo_id=REPO, quant_tags=("Q4_K_M",))
        plan = plan_download(store, hub, [model])
        (quant,) = plan.quants
        sent = transfer_file(store, hub, quant.files[0], quant).sent
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"mode": job["mode"], "seconds": seconds, "sent": sent, "rss_before": rss_before,
            "peak_rss": peak}  # fmt: skip


def _run_child(job: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child"], input=json.dumps(job), capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Set up the double and S3, run each copy ``--runs`` times, print a markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(sys.stdin.read()))))
        return

    from benchlab.services.s3 import LocalS3Server
    from benchlab.store import ObjectStore
    from tests.hub_double import HubDouble, gguf_file

    with tempfile.TemporaryDirectory(prefix="bench-download-") as tmp:
        root = Path(tmp)
        big = gguf_file(root, NAME, args.size_mib * MiB)
        with LocalS3Server(root / "s3") as s3, HubDouble() as hub:
            commit = hub.add_repo(REPO, [big])
            ep = s3.endpoint
            rows = []
            for run in range(args.runs):
                bucket = f"bench-{run}"
                ObjectStore(ep, bucket).ensure_bucket()
                job = {"s3": ep.url, "ak": ep.access_key.get_secret_value(),
                       "sk": ep.secret_key.get_secret_value(), "bucket": bucket,
                       "hub": hub.url, "commit": commit, "size": big.size}  # fmt: skip
                for mode in ("plain", "benchlab", "skip"):
                    rows.append(_run_child({**job, "mode": mode}))
    print(f"| copy ({args.size_mib} MiB) | seconds | MiB/s | peak RSS MB | RSS before copy MB |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        rate = row["sent"] / MiB / row["seconds"] if row["sent"] else 0.0
        print(f"| {row['mode']} | {row['seconds']:.2f} | {rate:.0f} | "
              f"{row['peak_rss'] / 1e6:.0f} | {row['rss_before'] / 1e6:.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
