"""A test double of the Hugging Face hub: a local HTTP server speaking the hub's protocol.

It answers exactly what ``huggingface_hub`` and benchlab ask for:

- ``GET /api/models/{repo}/revision/{rev}?blobs=True``: model info with ``sha`` and
  ``siblings`` (size, blob id, LFS size/sha256/pointer size); unknown repositories and
  revisions answer 404 with ``X-Error-Code: RepoNotFound`` / ``RevisionNotFound``.
- ``GET|HEAD /{repo}/resolve/{rev}/{path}``: a 302 to the LFS storage URL, on another
  host name (``localhost`` instead of ``127.0.0.1``) as the hub's CDN is, with
  ``X-Repo-Commit``, ``ETag``, ``X-Linked-Etag`` and ``X-Linked-Size``; files kept in git
  are answered directly; unknown ones with ``X-Error-Code: EntryNotFound``.
- ``GET /lfs/{sha256}``: the bytes, streamed from files on disk, honouring ``Range``.

Levers for tests: advertise a wrong sha256, answer 503 a number of times, drop the
connection once after some bytes, call a function once after some bytes were served.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

BLOCK = 256 * 1024


@dataclass
class HubFile:
    """A file of a repository: its bytes are the concatenation of ``paths``."""

    name: str
    paths: tuple[Path, ...]
    lfs: bool = True
    advertised_sha256: str | None = None

    @property
    def size(self) -> int:
        return sum(p.stat().st_size for p in self.paths)

    @property
    def sha256(self) -> str:
        hasher = hashlib.sha256()
        for chunk in self.read(0, self.size):
            hasher.update(chunk)
        return hasher.hexdigest()

    def read(self, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start`` to ``end`` (exclusive), in blocks, never all at once."""
        offset = 0
        for path in self.paths:
            size = path.stat().st_size
            if offset + size > start and offset < end:
                with path.open("rb") as handle:
                    handle.seek(max(0, start - offset))
                    left = min(end, offset + size) - max(start, offset)
                    while left > 0 and (chunk := handle.read(min(BLOCK, left))):
                        left -= len(chunk)
                        yield chunk
            offset += size


@dataclass
class Repo:
    """A repository with one commit and branch or tag names pointing at it."""

    repo_id: str
    commit: str
    files: dict[str, HubFile]
    refs: set[str] = field(default_factory=lambda: {"main"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that stops reading (a failed upload, a test's abort) is expected here.
        pass


class HubDouble:
    """The hub on a free loopback port; use as a context manager."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.lfs_gets: Counter[str] = Counter()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.fail_next: Counter[str] = Counter()
        self.drop_after: dict[str, int] = {}
        self.on_bytes: dict[str, tuple[int, Callable[[], None]]] = {}
        self._shas: dict[str, str] = {}
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The hub's base URL (what ``BENCHLAB_HF_ENDPOINT`` is set to)."""
        return f"http://127.0.0.1:{self.port}"

    def add_repo(
        self, repo_id: str, files: list[HubFile], refs: tuple[str, ...] = ("main",)
    ) -> str:
        """Publish a repository; returns its commit sha."""
        commit = hashlib.sha1(repr((repo_id, [f.name for f in files])).encode()).hexdigest()
        self.repos[repo_id] = Repo(repo_id, commit, {f.name: f for f in files}, set(refs))
        for f in files:
            self._shas[f.name] = f.sha256
        return commit

    def published_sha256(self, f: HubFile) -> str:
        return f.advertised_sha256 or self._shas[f.name]

    def find(self, repo_id: str, rev: str) -> Repo | None:
        repo = self.repos.get(repo_id)
        if repo is None or (rev not in repo.refs and rev != repo.commit):
            return None
        return repo

    def __enter__(self) -> HubDouble:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(hub: HubDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _error(self, status: int, code: str | None = None) -> None:
            self.send_response(status)
            if code:
                self.send_header("X-Error-Code", code)
                self.send_header("X-Error-Message", code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _json(self, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            path = unquote(parts.path)
            hub.requests.append(
                (self.command, path, {k.lower(): v for k, v in self.headers.items()})
            )
            if path.startswith("/api/models/"):
                self._model_info(path.removeprefix("/api/models/"), parse_qs(parts.query))
            elif path.startswith("/lfs/"):
                self._lfs(path.removeprefix("/lfs/"))
            elif "/resolve/" in path:
                self._resolve(path.lstrip("/"))
            else:
                self._error(404)

        def _model_info(self, rest: str, query: dict[str, list[str]]) -> None:
            repo_id, _, rev = rest.partition("/revision/")
            repo = hub.find(repo_id, rev or "main")
            if repo_id not in hub.repos:
                return self._error(404, "RepoNotFound")
            if repo is None:
                return self._error(404, "RevisionNotFound")
            blobs = query.get("blobs", ["false"])[0].lower() == "true"
            siblings = []
            for f in repo.files.values():
                entry: dict[str, object] = {"rfilename": f.name}
                if blobs:
                    entry["size"] = f.size
                    entry["blobId"] = hashlib.sha1(f.name.encode()).hexdigest()
                    if f.lfs:
                        entry["lfs"] = {
                            "size": f.size,
                            "sha256": hub.published_sha256(f),
                            "pointerSize": 134,
                        }
                siblings.append(entry)
            self._json({"_id": "x", "id": repo_id, "modelId": repo_id, "sha": repo.commit,
                        "private": False, "siblings": siblings})  # fmt: skip

        def _resolve(self, rest: str) -> None:
            repo_id, _, tail = rest.partition("/resolve/")
            rev, _, name = tail.partition("/")
            repo = hub.find(repo_id, rev)
            if repo is None:
                return self._error(
                    404, "RepoNotFound" if repo_id not in hub.repos else "RevisionNotFound"
                )
            f = repo.files.get(name)
            if f is None:
                return self._error(404, "EntryNotFound")
            if hub.fail_next[name] > 0:
                hub.fail_next[name] -= 1
                return self._error(503)
            if not f.lfs:
                return self._send(f, name, {"X-Repo-Commit": repo.commit, "ETag": '"git"'})
            sha = hub.published_sha256(f)
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{hub.port}/lfs/{quote(name)}?sig=x")
            self.send_header("X-Repo-Commit", repo.commit)
            self.send_header("ETag", f'"{hashlib.sha1(name.encode()).hexdigest()}"')
            self.send_header("X-Linked-Etag", f'"{sha}"')
            self.send_header("X-Linked-Size", str(f.size))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _lfs(self, name: str) -> None:
            for repo in hub.repos.values():
                if name in repo.files:
                    return self._send(
                        repo.files[name],
                        name,
                        {"ETag": f'"{hub.published_sha256(repo.files[name])}"'},
                    )
            self._error(404)

        def _send(self, f: HubFile, name: str, headers: dict[str, str]) -> None:
            size = f.size
            start, end = 0, size
            ranged = self.headers.get("Range")
            if ranged:
                first, _, last = ranged.removeprefix("bytes=").partition("-")
                start, end = int(first), (int(last) + 1 if last else size)
                if start >= size:
                    return self._error(416)
            self.send_response(206 if ranged else 200)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(end - start))
            if ranged:
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
            self.end_headers()
            if self.command == "HEAD":
                return
            hub.lfs_gets[name] += 1
            served = start
            for chunk in f.read(start, end):
                limit = hub.drop_after.get(name)
                if limit is not None and served + len(chunk) > limit:
                    del hub.drop_after[name]
                    self.wfile.write(chunk[: limit - served])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(chunk)
                served += len(chunk)
                hook = hub.on_bytes.get(name)
                if hook is not None and served >= hook[0]:
                    del hub.on_bytes[name]
                    hook[1]()

    return Handler


def gguf_file(directory: Path, name: str, size: int, seed: int = 0) -> HubFile:
    """A generated GGUF-looking file of ``size`` bytes, written in blocks."""
    path = directory / name.replace("/", "__")
    rng = hashlib.sha256(f"{name}{seed}".encode()).digest()
    with path.open("wb") as out:
        out.write(b"GGUF\x03\x00\x00\x00")
        left = size - 8
        block = (rng * (BLOCK // len(rng) + 1))[:BLOCK]
        while left > 0:
            out.write(block[: min(left, BLOCK)])
            left -= BLOCK
    return HubFile(name=name, paths=(path,))
