"""``python3 -m notes add TEXT`` and ``python3 -m notes list``."""

import sys
from datetime import date
from pathlib import Path

from notes.config import load


def main(argv: list[str]) -> int:
    """Run one command; return the exit code."""
    config = load()
    notes = Path(config.notes_file)
    if argv[:1] == ["add"] and len(argv) == 2:
        with notes.open("a") as out:
            out.write(f"{date.today().strftime(config.date_format)} {argv[1]}\n")
        return 0
    if argv == ["list"]:
        lines = notes.read_text().splitlines() if notes.exists() else []
        print("\n".join(lines[-config.max_list :]))
        return 0
    print("usage: python3 -m notes add TEXT | list", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
