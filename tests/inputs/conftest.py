"""The helper modules of these tests assert too: let pytest explain their failures."""

import pytest

pytest.register_assert_rewrite("tests.inputs.cli", "tests.inputs.problems")
