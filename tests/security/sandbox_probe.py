"""Running probes inside a sandbox session: a command, its trial dirs, a loopback server.

Shared by the containment tests and the docker sandbox's own tests.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from benchlab.sandbox.base import SandboxSession

UNREACHABLE = 3
"""Exit code of :func:`reach_script` when the connection fails."""


class _Digest(BaseHTTPRequestHandler):
    """Answers a POST with the size and sha256 of its body, so a relay's bytes can be checked."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        answer = json.dumps({"size": len(body), "sha256": hashlib.sha256(body).hexdigest()})
        self.send_response(200)
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer.encode())

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_http(host: str) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """A real HTTP server on ``host`` (a free port), serving in a thread."""
    server = ThreadingHTTPServer((host, 0), _Digest)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def loopback_server() -> Iterator[int]:
    """A real HTTP server on host loopback; its port."""
    server, _ = serve_http("127.0.0.1")
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def run_in(
    session: SandboxSession,
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    stdin: str = "",
    timeout_s: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` inside ``session`` and wait for it."""
    command = session.wrap(argv, cwd=cwd, env={"PATH": "/usr/bin:/bin", **(env or {})})
    return subprocess.run(
        command.argv,
        cwd=command.cwd,
        env=dict(command.env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def trial_dirs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Fresh ``trial``, ``workspace`` and ``agent`` directories under ``tmp_path``."""
    dirs = tuple(tmp_path / name for name in ("trial", "workspace", "agent"))
    for path in dirs:
        path.mkdir()
    return dirs  # type: ignore[return-value]


def reach_script(host: str, port: int, path: str = "/", data: bytes | None = None) -> str:
    """Python that requests ``http://host:port/path`` and prints the status and body, or
    ``unreachable ERROR`` and exits :data:`UNREACHABLE`."""
    return (
        "import urllib.request, urllib.error, sys\n"
        f"req = urllib.request.Request('http://{host}:{port}{path}', data={data!r})\n"
        "try:\n"
        "    with urllib.request.urlopen(req, timeout=5) as r: print(r.status, r.read().decode())\n"
        "except urllib.error.HTTPError as e: print(e.code, e.read().decode())\n"
        "except OSError as e:\n"
        "    print('unreachable', type(e).__name__, getattr(e, 'reason', e))\n"
        f"    sys.exit({UNREACHABLE})\n"
    )
