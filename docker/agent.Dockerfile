# The agent sandbox: what a coding agent and a task's checks need, not the agent itself.
# The agent (pi) is installed on the host under benchlab's data dir and mounted
# read-only at its host path; its node_modules run on this image's node.
#
# BASE is a local image made from a debootstrap rootfs (benchlab/images.py), because
# no container registry is reachable. It is trixie: pi needs node >= 20.6 and bookworm
# ships node 18. Build with network access (apt, PyPI); the sandbox runs without it.
ARG BASE=benchlab/base:trixie
FROM ${BASE}

# npm is left out by default: Debian's npm brings ~350 node-* packages and triples the
# build time, and the agent is installed by the host's npm. Add it with
# --build-arg EXTRA_PACKAGES=npm for tasks whose checks run npm.
ARG EXTRA_PACKAGES=
ARG DEBIAN_FRONTEND=noninteractive
# socat: the in-container end of the gateway relay (benchlab/sandbox/docker.py).
# unsafe-io: no fsync per file; a failed build is simply built again.
RUN apt-get update \
 && apt-get -o Dpkg::Options::=--force-unsafe-io install -y --no-install-recommends \
      bash ca-certificates git nodejs procps python3 python3-pytest python3-venv socat \
      ${EXTRA_PACKAGES} \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb

# uv from PyPI, in its own environment so that Debian's python stays untouched.
# host-ca.pem is the build host's CA bundle (empty when it has none), for hosts whose
# way out re-signs TLS.
ARG UV_VERSION=
COPY host-ca.pem /etc/benchlab/host-ca.pem
RUN if [ -s /etc/benchlab/host-ca.pem ]; then export PIP_CERT=/etc/benchlab/host-ca.pem; fi \
 && python3 -m venv /opt/uv \
 && /opt/uv/bin/pip install --no-cache-dir --disable-pip-version-check \
      "uv${UV_VERSION:+==$UV_VERSION}" \
 && ln -s /opt/uv/bin/uv /opt/uv/bin/uvx /usr/local/bin/

# Agents run as the host user's uid, which has no passwd entry here: give git an
# identity, and accept a mounted workspace whatever its owner.
RUN git config --system user.name benchlab-agent \
 && git config --system user.email agent@benchlab.invalid \
 && git config --system --add safe.directory '*'

ENV PYTHONDONTWRITEBYTECODE=1
CMD ["bash"]
