"""The simulate sandbox fixtures (see :mod:`tests.fixtures.simulate`)."""

from tests.fixtures.simulate import sim_settings

__all__ = ["sim_settings"]
