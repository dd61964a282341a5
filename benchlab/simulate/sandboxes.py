"""Which sandbox a sweep's agents run in: docker when it can, local otherwise."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import Literal

from benchlab.errors import UsageError
from benchlab.sandbox.base import Sandbox
from benchlab.sandbox.local import LocalSandbox
from benchlab.settings import Settings
from benchlab.simulate.plan import SimulationPlan


def docker_answers() -> bool:
    """Whether a docker daemon answers here."""
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@dataclass(frozen=True)
class SandboxChoice:
    """Which sandbox the sweep's trials run in; made per target, once its gateway is up
    (the docker sandbox lets its containers reach that gateway and nothing else)."""

    kind: Literal["local", "docker"]
    image: str = ""

    def make(self, gateway_port: int) -> Sandbox:
        """The sandbox for trials whose gateway listens on ``gateway_port``."""
        if self.kind == "docker":
            from benchlab.sandbox.docker import DockerSandbox

            return DockerSandbox(image=self.image, gateway_port=gateway_port)
        return LocalSandbox()


def _image_exists(image: str) -> bool:
    done = subprocess.run(
        ["docker", "image", "inspect", image], capture_output=True, timeout=30, check=False
    )
    return done.returncode == 0


def choose_sandbox(settings: Settings, plan: SimulationPlan) -> SandboxChoice:
    """Docker when asked, or when ``auto`` and a daemon answers with the agent image
    built (``benchlab images build``); the local sandbox otherwise, which warns that
    tools run on the host.

    Raises:
        UsageError: docker was asked for and no daemon answers, or the image is missing.
    """
    wanted = plan.request.sandbox if plan.request.sandbox != "auto" else settings.sandbox
    if wanted == "local":
        return SandboxChoice("local")
    if docker_answers():
        if _image_exists(settings.agent_image):
            return SandboxChoice("docker", settings.agent_image)
        if wanted == "docker":
            raise UsageError(
                f"--sandbox docker: image {settings.agent_image} is missing; "
                "run: benchlab images build"
            )
    elif wanted == "docker":
        raise UsageError("--sandbox docker: no docker daemon answers (`docker info` failed)")
    return SandboxChoice("local")
