"""What git refs, git URLs and paths in configuration files may look like.

Each check raises ``ValueError`` with the reason, so a validator that calls it reports
the reason on the value's line. They refuse what could be read as a command-line
option, a transport that runs commands, or a path that leaves its root.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
URL_SCHEMES = ("https", "http", "ssh", "git", "file")
SCP_LIKE = re.compile(r"^(?P<user>[^@/:\s]+)@(?P<host>[^@/:\s]+):(?P<path>[^:].*)$")
REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


def _ref_problem(ref: str) -> str | None:
    if ref.startswith("-"):
        return "must not start with '-'"
    if ref in ("", "@"):
        return "is not a ref name"
    if REF_FORBIDDEN.search(ref):
        return "must not contain spaces, control characters or any of ~^:?*[\\"
    if ".." in ref or "@{" in ref or "//" in ref:
        return "must not contain '..', '@{' or '//'"
    if ref.startswith("/") or ref.endswith(("/", ".")):
        return "must not start with '/' or end with '/' or '.'"
    if any(part.startswith(".") or part.endswith(".lock") for part in ref.split("/")):
        return "no part may start with '.' or end with '.lock'"
    return None


def git_ref(ref: str, what: str = "ref") -> str:
    """``ref`` when it is a valid git ref name or commit (``git check-ref-format`` rules).

    Raises:
        ValueError: ``ref`` could be read as an option, or is not a ref name.
    """
    problem = _ref_problem(ref)
    if problem is not None:
        raise ValueError(
            f"{what} {problem}"
            if problem.startswith("must not start")
            else (f"{what} {ref!r} {problem}")
        )
    return ref


def git_url(url: str) -> str:
    """``url`` when it is a plain git URL: ``https``, ``http``, ``ssh``, ``git``, ``file``,
    ``user@host:path`` or an absolute path.

    Transports that run commands (``ext::``), and hosts, users or paths that ``ssh``
    or ``git`` could read as options, are refused.

    Raises:
        ValueError: anything else.
    """
    if url.startswith("-"):
        raise ValueError("url must not start with '-'")
    if CONTROL.search(url) or url != url.strip():
        raise ValueError("url must not contain control characters or surrounding spaces")
    scp = SCP_LIKE.match(url)
    if url.startswith("/"):
        parts = ["/"]
    elif scp is not None and "://" not in url:
        parts = [scp["user"], scp["host"], scp["path"]]
    else:
        split = urlsplit(url)
        if split.scheme not in URL_SCHEMES or not url.startswith(f"{split.scheme}://"):
            shown = ", ".join(f"{s}://" for s in URL_SCHEMES)
            raise ValueError(f"url must be {shown}, user@host:path or an absolute path")
        parts = [split.username or "", split.hostname or "", split.path.lstrip("/")]
    if any(part.startswith("-") for part in parts):
        raise ValueError("url must not have a user, host or path that starts with '-'")
    return url


def relative_path(value: str, root: str = "the workspace") -> str:
    """``value`` when it is a relative path that stays inside ``root``.

    Raises:
        ValueError: empty, absolute, with a ``..`` part, or with control characters.
    """
    parts = value.replace("\\", "/").split("/")
    if value.startswith(("/", "\\")) or ".." in parts or not value.strip() or CONTROL.search(value):
        raise ValueError(f"{value!r} must be a relative path inside {root}")
    return value


def path_segment(value: str, what: str) -> str:
    """``value`` when it can be one part of a path or key: no ``/``, not ``.`` or ``..``.

    Raises:
        ValueError: otherwise.
    """
    if value in ("", ".", "..") or "/" in value or "\\" in value or CONTROL.search(value):
        raise ValueError(f"{what} {value!r} must be one plain name (no '/', not '..')")
    return value
