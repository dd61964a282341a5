"""The judge faults run on datasets curated the way the evaluate tests curate them (the
simulate sandbox fixtures are session plugins, see :mod:`tests.fixtures.simulate`)."""

from tests.evaluate.conftest import curate, settings, tasks_dir

__all__ = ["curate", "settings", "tasks_dir"]
