"""Tests of notes; run with ``python3 -m unittest``."""

import json
import tempfile
import unittest
from pathlib import Path

from notes.config import Config, load


class ConfigTest(unittest.TestCase):
    def test_defaults_without_a_file(self) -> None:
        self.assertEqual(load(Path("no-such-config.json")), Config())

    def test_file_overrides_defaults(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "config.json"
            path.write_text(json.dumps({"max_list": 5}))
            self.assertEqual(load(path).max_list, 5)


if __name__ == "__main__":
    unittest.main()
