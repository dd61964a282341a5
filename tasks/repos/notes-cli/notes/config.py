"""Settings, read from a JSON file."""

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Config:
    """The notebook's settings."""

    notes_file: str = "notes.txt"
    date_format: str = "%Y-%m-%d"
    max_list: int = 20


def load(path: Path = Path("config.json")) -> Config:
    """The settings in ``path``; the defaults where it says nothing or is missing."""
    if not path.exists():
        return Config()
    return Config(**json.loads(path.read_text()))
