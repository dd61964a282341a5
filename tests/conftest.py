"""Session fixtures: real servers started once per test session on free loopback ports.

Each fixture module under ``tests/fixtures`` owns one part (S3, llama-server, gateway,
MLflow, Prefect) and is loaded here as a pytest plugin.
"""

pytest_plugins = [
    "tests.fixtures.s3",
    "tests.fixtures.llama",
    "tests.fixtures.tracking",
]
