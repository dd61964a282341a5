"""Protected paths on a real git repository: touched ones found, all restored."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchlab import protect
from benchlab.gitdiff import diff
from tests.gitutil import make_repo

FILES = {"src/app.py": "x = 1\n", "tests/test_app.py": "assert True\n", "check.sh": "exit 0\n"}


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "repo"
    return path, make_repo(path, FILES)


def test_touched_and_restored(repo: tuple[Path, str]) -> None:
    path, base = repo
    (path / "src/app.py").write_text("x = 2\n")
    (path / "tests/test_app.py").write_text("pass  # tests gutted\n")
    (path / "tests/conftest.py").write_text("import pytest\n")
    (path / "check.sh").unlink()
    changed = diff(path, base).files
    protected = ("tests", "check.sh")
    assert protect.touched(changed, protected) == (
        "check.sh",
        "tests/conftest.py",
        "tests/test_app.py",
    )
    protect.restore(path, base, protected)
    assert (path / "tests/test_app.py").read_text() == FILES["tests/test_app.py"]
    assert (path / "check.sh").read_text() == FILES["check.sh"]
    assert not (path / "tests/conftest.py").exists()
    # The agent's own work outside the protected paths stays.
    assert (path / "src/app.py").read_text() == "x = 2\n"
    assert diff(path, base).files == ("src/app.py",)


def test_prefix_is_component_wise(repo: tuple[Path, str]) -> None:
    assert protect.touched(["tests2/a.py", "tests/a.py"], ["tests"]) == ("tests/a.py",)
    assert protect.touched(["tests/a.py"], []) == ()


def test_symlinked_protected_dir_cannot_redirect_deletes(
    repo: tuple[Path, str], tmp_path: Path
) -> None:
    path, base = repo
    outside = tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    (outside / "keep" / "precious.txt").write_text("mine")
    # The agent replaces the protected directory's parent with a link to elsewhere.
    (path / "data").symlink_to(outside)
    with pytest.raises(ValueError, match="outside the workspace"):
        protect.restore(path, base, ["data/keep"])
    assert (outside / "keep" / "precious.txt").read_text() == "mine"
