"""The project's lint: no trailing whitespace or tabs, lines of at most 79."""

import sys
from pathlib import Path

MAX_LENGTH = 79


def problems(path: Path) -> list[str]:
    """The lint problems of one file, as ``path:line: message``."""
    found = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line != line.rstrip():
            found.append(f"{path}:{number}: trailing whitespace")
        if "\t" in line:
            found.append(f"{path}:{number}: tab character")
        if len(line) > MAX_LENGTH:
            found.append(f"{path}:{number}: line longer than {MAX_LENGTH}")
    return found


def main() -> int:
    """Lint every Python file of the project; exit 1 if anything is found."""
    paths = sorted(Path(".").glob("*.py"))
    found = [p for path in paths for p in problems(path)]
    print("\n".join(found) or "lint: clean")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
