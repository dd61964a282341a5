"""Session fixtures: real servers started once per test session on free loopback ports.

Each fixture module under ``tests/fixtures`` owns one part (S3, llama-server, gateway,
MLflow, Prefect) and is loaded here as a pytest plugin.
"""

import pytest

from benchlab.simulate.sandboxes import docker_answers

pytest_plugins = [
    "tests.fixtures.s3",
    "tests.fixtures.llama",
    "tests.fixtures.tracking",
    "tests.fixtures.agents",
    "tests.fixtures.hub",
    "tests.fixtures.docker",
    "tests.fixtures.simulate",
    "tests.fixtures.prefect_server",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``docker`` skip, saying why, when no docker daemon answers."""
    needing = [item for item in items if item.get_closest_marker("docker")]
    if needing and not docker_answers():
        skip = pytest.mark.skip(reason="needs a docker daemon: `docker info` does not answer")
        for item in needing:
            item.add_marker(skip)
