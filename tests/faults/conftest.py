"""Fault tests run in the simulate sandbox (see :mod:`tests.fixtures.simulate`), and the
judge faults on datasets curated the way the evaluate tests curate them."""

from tests.evaluate.conftest import curate, settings, tasks_dir
from tests.fixtures.simulate import sim_settings

__all__ = ["curate", "settings", "sim_settings", "tasks_dir"]
