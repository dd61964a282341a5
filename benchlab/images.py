"""Local container images, built without a registry: a debootstrap base and two on it.

- ``benchlab/base:<suite>``: a minimal Debian rootfs from ``debootstrap``, imported.
- ``benchlab/llama-server:cpu-local``: this host's llama-server binary on that base.
- ``benchlab/agent:local``: the agent sandbox (``docker/agent.Dockerfile``).

Each build is skipped while an image with its tag exists and carries the same source
digest label (the binary's bytes, the Dockerfile's text), so a rebuilt binary or an
edited Dockerfile makes a new image and anything else reuses the cached one.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from docker.client import DockerClient
from docker.errors import BuildError, DockerException, ImageNotFound

from benchlab.engine.binary import find_llama_server
from benchlab.errors import BenchlabError, MissingToolError, ServiceError
from benchlab.settings import inherited_env

SUITE = "trixie"
"""Debian release of the base; trixie has the node (>= 20.6) the agent needs."""

MIRROR = "http://deb.debian.org/debian"
BASE_TAG = f"benchlab/base:{SUITE}"
LLAMA_TAG = "benchlab/llama-server:cpu-local"
AGENT_TAG = "benchlab/agent:local"
DOCKER_DIR = Path(__file__).resolve().parent.parent / "docker"
DIGEST_LABEL = "benchlab.source-digest"
# glibc is the image's own: a copy from the host would not match the image's loader.
GLIBC = re.compile(r"^(libc|libm|libdl|libpthread|librt|libresolv|libutil|ld-linux[^.]*)\.so")


@dataclass(frozen=True)
class ImageBuild:
    """One image: its tag, whether it was built now or found cached, and how long."""

    tag: str
    built: bool
    seconds: float


def _client() -> DockerClient:
    try:
        return DockerClient.from_env()
    except DockerException as exc:
        raise ServiceError(f"docker daemon not reachable: {exc}") from None


def _cached(client: DockerClient, tag: str, digest: str | None) -> bool:
    try:
        image = client.images.get(tag)
    except ImageNotFound:
        return False
    return digest is None or (image.labels or {}).get(DIGEST_LABEL) == digest


def _unmount_below(root: Path) -> None:
    # debootstrap mounts /proc and /sys in the target; one left by an interrupted run
    # must go before the tree is deleted.
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for point in sorted((m for m in mounts if m.startswith(f"{root}/")), reverse=True):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)


def _scratch() -> str:
    # dpkg syncs every file it unpacks; on a tmpfs that costs nothing, which halves the
    # debootstrap time. /dev/shm allows exec and device files, as a chroot needs.
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        stats = os.statvfs(shm)
        if stats.f_bavail * stats.f_frsize > 2 << 30:
            return str(shm)
    return "/var/tmp"


def build_base(client: DockerClient, *, suite: str = SUITE, force: bool = False) -> ImageBuild:
    """Build ``benchlab/base:<suite>`` from a debootstrap rootfs (root and debootstrap needed).

    Raises:
        MissingToolError: debootstrap is not installed or this is not root.
        ServiceError: debootstrap or the import failed (with its last output lines).
    """
    tag, started = f"benchlab/base:{suite}", time.monotonic()
    if not force and _cached(client, tag, None):
        return ImageBuild(tag, False, 0.0)
    debootstrap = shutil.which("debootstrap") or shutil.which("debootstrap", path="/usr/sbin:/sbin")
    if debootstrap is None or os.geteuid() != 0:
        raise MissingToolError(
            "building the base image needs root and debootstrap (`apt-get install debootstrap`)"
        )
    with tempfile.TemporaryDirectory(prefix="benchlab-rootfs-", dir=_scratch()) as work:
        root, tar = Path(work) / "root", Path(work) / "root.tar"
        env = {**inherited_env(network=True), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        try:
            _run([debootstrap, "--variant=minbase", suite, str(root), MIRROR], env=env)
            for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
                for item in (root / cache).glob("*"):
                    if item.is_file():
                        item.unlink()
            excluded = [f"--exclude=./{d}/*" for d in ("proc", "sys", "dev")]
            _run(["tar", "--numeric-owner", *excluded, "-C", str(root), "-cf", str(tar), "."])
            repository, _, name = tag.partition(":")
            client.api.import_image_from_file(
                str(tar), repository=repository, tag=name, changes=['CMD ["bash"]']
            )
        finally:
            _unmount_below(root)
            subprocess.run(["rm", "-rf", "--one-file-system", str(root)], check=False)
    return ImageBuild(tag, True, time.monotonic() - started)


def _run(argv: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        raise ServiceError(f"{Path(argv[0]).name} failed ({done.returncode}):\n{tail}")


def _digest(client: DockerClient, paths: list[Path]) -> str:
    # The base image's id counts too: a rebuilt base means rebuilt images on it.
    hashed = hashlib.sha256(str(client.images.get(BASE_TAG).id).encode())
    for path in sorted(paths):
        hashed.update(path.name.encode() + b"\0")
        hashed.update(os.readlink(path).encode() if path.is_symlink() else path.read_bytes())
    return hashed.hexdigest()[:16]


def host_libraries(binary: Path) -> list[Path]:
    """Shared libraries ``binary`` loads from outside its own directory, glibc excepted.

    Raises:
        ServiceError: ``ldd`` cannot resolve one of them.
    """
    done = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False)
    missing = [line.strip() for line in done.stdout.splitlines() if "not found" in line]
    if done.returncode != 0 or missing:
        raise ServiceError(f"ldd {binary} failed: {missing or done.stderr.strip()}")
    found = [Path(m) for m in re.findall(r"=> (/\S+)", done.stdout)]
    return [p for p in found if p.parent != binary.parent and not GLIBC.match(p.name)]


def _build(client: DockerClient, context: Path, dockerfile: str, tag: str, digest: str) -> None:
    proxies = {k: v for k, v in inherited_env(network=True).items() if k.lower().endswith("proxy")}
    try:
        client.images.build(
            path=str(context),
            dockerfile=dockerfile,
            tag=tag,
            buildargs={"BASE": BASE_TAG, **proxies},
            labels={DIGEST_LABEL: digest},
            network_mode="host",
            rm=True,
            forcerm=True,
        )
    except BuildError as exc:
        lines = [str(chunk.get("stream") or chunk.get("error") or "") for chunk in exc.build_log]
        tail = "".join(lines).strip().splitlines()[-15:]
        raise ServiceError(f"docker build {tag} failed: {exc.msg}\n" + "\n".join(tail)) from None


def build_llama_image(
    client: DockerClient, binary: Path | None = None, *, force: bool = False
) -> ImageBuild:
    """Build ``benchlab/llama-server:cpu-local`` from this host's llama-server binary.

    Raises:
        MissingToolError: No llama-server binary here.
        ServiceError: The build failed, or the built image cannot run ``--version``.
    """
    started = time.monotonic()
    binary = binary or find_llama_server()
    own = [p for p in binary.parent.iterdir() if p.name != ".gitkeep"]
    libraries = host_libraries(binary)
    digest = _digest(client, own + libraries)
    if not force and _cached(client, LLAMA_TAG, digest):
        return ImageBuild(LLAMA_TAG, False, 0.0)
    with tempfile.TemporaryDirectory(prefix="benchlab-llama-image-") as work:
        context = Path(work)
        shutil.copytree(binary.parent, context / "llama-server", symlinks=True)
        if binary.name != "llama-server":
            shutil.copy2(binary, context / "llama-server" / "llama-server")
        (context / "llama-server" / "lib").mkdir(exist_ok=True)
        for library in libraries:
            shutil.copy2(library, context / "llama-server" / "lib" / library.name)
        shutil.copy2(DOCKER_DIR / "llama-server-local.Dockerfile", context / "Dockerfile")
        _build(client, context, "Dockerfile", LLAMA_TAG, digest)
    try:
        client.containers.run(LLAMA_TAG, ["--version"], remove=True, network_mode="none")
    except DockerException as exc:
        client.images.remove(LLAMA_TAG, force=True)
        raise ServiceError(f"{LLAMA_TAG} does not run: {exc}") from None
    return ImageBuild(LLAMA_TAG, True, time.monotonic() - started)


def build_agent_image(
    client: DockerClient, *, ca_bundle: Path | None = None, force: bool = False
) -> ImageBuild:
    """Build ``benchlab/agent:local`` from ``docker/agent.Dockerfile`` on the base image.

    Args:
        client: The docker client.
        ca_bundle: CA certificates for pip inside the build; default the host's
            ``SSL_CERT_FILE`` or Debian's bundle.
        force: Build even when a cached image matches.
    """
    started = time.monotonic()
    dockerfile = DOCKER_DIR / "agent.Dockerfile"
    digest = _digest(client, [dockerfile])
    if not force and _cached(client, AGENT_TAG, digest):
        return ImageBuild(AGENT_TAG, False, 0.0)
    default_ca = inherited_env().get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
    ca = ca_bundle or Path(default_ca)
    with tempfile.TemporaryDirectory(prefix="benchlab-agent-image-") as work:
        context = Path(work)
        (context / "host-ca.pem").write_bytes(ca.read_bytes() if ca.is_file() else b"")
        shutil.copy2(dockerfile, context / "Dockerfile")
        _build(client, context, "Dockerfile", AGENT_TAG, digest)
    return ImageBuild(AGENT_TAG, True, time.monotonic() - started)


def build_images(
    *, force: bool = False, report: Callable[[ImageBuild], None] | None = None
) -> list[ImageBuild]:
    """Build (or find cached) the base, llama-server and agent images, in that order.

    This is what ``benchlab images build`` runs.

    Args:
        force: Rebuild all three even when cached.
        report: Called with each image as it is done.

    Raises:
        BenchlabError: A tool is missing, docker does not answer, or a build failed.
    """
    client = _client()
    steps: list[Callable[[], ImageBuild]] = [
        lambda: build_base(client, force=force),
        lambda: build_llama_image(client, force=force),
        lambda: build_agent_image(client, force=force),
    ]
    done: list[ImageBuild] = []
    for step in steps:
        try:
            result = step()
        except DockerException as exc:
            raise BenchlabError(f"docker failed: {exc}") from None
        done.append(result)
        if report is not None:
            report(result)
    return done
