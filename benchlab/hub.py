"""The Hugging Face hub through ``huggingface_hub``: a repository's files at a commit, their bytes.

The endpoint and token come from benchlab's settings and are passed explicitly, so the
library's own environment variables and saved token play no part. The token is sent to
the hub only: ``httpx`` drops the ``Authorization`` header when a download is redirected
to another host (the LFS storage).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
from huggingface_hub import HfApi, hf_hub_url
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status
from pydantic import BaseModel, ConfigDict, SecretStr

from benchlab.errors import UsageError
from benchlab.transfer import BLOCK

PUBLIC_HUB = "https://huggingface.co"
# A broken download is picked up where it stopped with a Range request this many times.
RESUME_ATTEMPTS = 3


class HubError(UsageError):
    """An unknown or inaccessible repository or revision on the hub."""


class HubFile(BaseModel):
    """One file of a repository at a commit."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    name: str
    """Path of the file in the repository."""

    size: int
    """Size in bytes."""

    sha256: str | None
    """sha256 the hub publishes for an LFS file; None for files kept in git."""


class RepoSnapshot(BaseModel):
    """A repository's files at the commit a revision pointed to."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    repo_id: str
    """``owner/name``."""

    revision: str
    """The revision asked for (branch, tag or commit)."""

    commit: str
    """The commit sha it resolved to."""

    files: tuple[HubFile, ...]
    """Every file in the repository."""


class Hub:
    """A Hugging Face hub.

    Args:
        endpoint: Base URL; default the public hub.
        token: Access token for gated or private repositories.
        timeout_s: Connect and read timeout of each request.
    """

    def __init__(
        self, endpoint: str | None = None, token: SecretStr | None = None, timeout_s: float = 60.0
    ) -> None:
        self.endpoint = (endpoint or PUBLIC_HUB).rstrip("/")
        self._token = token
        self.timeout_s = timeout_s
        # False, not None: None would make huggingface_hub look for a token of its own.
        self._api = HfApi(endpoint=self.endpoint, token=self._token_arg(), library_name="benchlab")

    def __repr__(self) -> str:
        return f"Hub({self.endpoint!r})"

    def _token_arg(self) -> str | bool:
        return self._token.get_secret_value() if self._token is not None else False

    def snapshot(self, repo_id: str, revision: str) -> RepoSnapshot:
        """The files of ``repo_id`` at ``revision``, with LFS sha256 and sizes.

        Raises:
            HubError: the repository or revision does not exist or is not accessible.
        """
        try:
            info = self._api.model_info(
                repo_id, revision=revision, files_metadata=True, timeout=self.timeout_s
            )
        except RevisionNotFoundError:
            raise HubError(f"{repo_id}: no revision {revision!r} on {self.endpoint}") from None
        except GatedRepoError:
            raise HubError(
                f"{repo_id} is gated on {self.endpoint}: accept its terms and set "
                "BENCHLAB_HF_TOKEN to a token that has access"
            ) from None
        except RepositoryNotFoundError:
            raise HubError(
                f"no repository {repo_id} on {self.endpoint} "
                "(or it is private: set BENCHLAB_HF_TOKEN)"
            ) from None
        except httpx.TransportError as exc:
            raise HubError(f"{repo_id}: cannot reach {self.endpoint}: {exc}") from exc
        if info.sha is None:
            raise HubError(f"{repo_id}@{revision}: the hub did not say which commit it is")
        files = tuple(
            HubFile(
                name=s.rfilename,
                size=s.lfs.size if s.lfs is not None else (s.size or 0),
                sha256=s.lfs.sha256 if s.lfs is not None else None,
            )
            for s in info.siblings or []
        )
        return RepoSnapshot(repo_id=repo_id, revision=revision, commit=info.sha, files=files)

    def file_url(self, repo_id: str, commit: str, name: str) -> str:
        """The resolve URL of a file at a commit."""
        return hf_hub_url(repo_id, name, revision=commit, endpoint=self.endpoint)

    def stream(
        self,
        repo_id: str,
        commit: str,
        name: str,
        *,
        block: int = BLOCK,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[bytes]:
        """The bytes of a file in blocks, following the redirect to its storage.

        A connection that breaks mid-file is reopened with a ``Range`` request from the
        byte where it stopped, up to ``RESUME_ATTEMPTS`` times; the caller sees one stream.

        Raises:
            HfHubHTTPError: the hub answered with an error.
            httpx.TransportError: the connection failed and could not be resumed.
        """
        url = self.file_url(repo_id, commit, name)
        offset = 0
        failures = 0
        while True:
            headers = build_hf_headers(token=self._token_arg(), library_name="benchlab")
            if offset:
                headers["Range"] = f"bytes={offset}-"
            try:
                with get_session().stream(
                    "GET", url, headers=headers, timeout=self.timeout_s
                ) as resp:
                    hf_raise_for_status(resp)
                    _check_resumed_at(resp, offset, url)
                    for chunk in resp.iter_bytes(block):
                        offset += len(chunk)
                        if progress is not None:
                            progress(len(chunk))
                        yield chunk
                return
            except (httpx.ReadError, httpx.RemoteProtocolError, httpx.ReadTimeout):
                failures += 1
                if failures > RESUME_ATTEMPTS:
                    raise
                time.sleep(0.5 * 2**failures)


def _check_resumed_at(resp: httpx.Response, offset: int, url: str) -> None:
    """A resumed download must continue at ``offset``, not start over."""
    if not offset:
        return
    start = resp.headers.get("Content-Range", "").removeprefix("bytes ").split("-")[0]
    if resp.status_code != 206 or start != str(offset):
        raise HfHubHTTPError(f"{url}: the server did not resume at byte {offset}", response=resp)


def is_network_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a hub failure worth retrying: a broken connection, 429 or 5xx."""
    if isinstance(exc, httpx.TransportError):
        return True
    if isinstance(exc, HfHubHTTPError) and exc.response is not None:
        status = exc.response.status_code
        return status == 429 or status >= 500
    return False
