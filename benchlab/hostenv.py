"""The few host environment variables that child processes inherit.

Besides ``settings``, this is the only module that reads ``os.environ``: a child
(git, npm, the agent, a check) needs the host's ``PATH`` to find its programs, and
TLS/proxy settings to reach a registry behind a corporate proxy. Nothing else of the
user's environment (keys, tokens, config locations) is passed on.
"""

from __future__ import annotations

import os

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
