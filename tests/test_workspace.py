"""Workspaces from real git repositories and plain directories, and their diffs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from benchlab.config.tasks import Repository, TaskSpec
from benchlab.gitrepo import GitError, git, git_env, resolve_commit
from benchlab.workspace import Workspace, WorkspaceError, checkout, diff, prepare_workspace
from tests.gitutil import commit, head, make_repo

PLAIN_FILES = {"README.md": "hello\n", "pkg/mod.py": "X = 1\n"}


def task(repository: dict[str, Any], **extra: Any) -> TaskSpec:
    return TaskSpec.model_validate(
        {
            "name": "t",
            "archetype": "feature_implementation",
            "prompt": "do it",
            "repository": repository,
            **extra,
        }
    )


def write_plain(root: Path) -> Path:
    for name, text in PLAIN_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture
def workspaces() -> Any:
    made: list[Workspace] = []
    yield made
    for ws in made:
        ws.remove()


def prepare(made: list[Workspace], spec: TaskSpec, task_dir: Path, **kw: Any) -> Workspace:
    ws = prepare_workspace(spec, task_dir, **kw)
    made.append(ws)
    return ws


def test_plain_directory_gets_a_deterministic_commit(tmp_path: Path, workspaces: Any) -> None:
    write_plain(tmp_path / "src")
    (tmp_path / "src" / "__pycache__").mkdir()
    (tmp_path / "src" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"junk")
    spec = task({"path": "src"})
    first = prepare(workspaces, spec, tmp_path, parent=tmp_path)
    os.utime(tmp_path / "src" / "README.md", (1, 1))  # mtimes must not matter
    second = prepare(workspaces, spec, tmp_path, parent=tmp_path)
    assert first.path != second.path
    assert first.base_commit == second.base_commit == first.start_commit
    # Same files, same sha, on any machine: identity and dates are fixed.
    assert first.base_commit == "69b7e54f51e6ca2dba2fc0c16cc769640ea4d518" or pytest.fail(
        f"sha changed: {first.base_commit}"
    )
    assert not (first.path / "__pycache__").exists()
    assert (first.path / "pkg" / "mod.py").read_text() == "X = 1\n"
    assert head(first.path) == first.base_commit


def test_local_git_repo_is_cloned_at_its_ref(tmp_path: Path, workspaces: Any) -> None:
    origin = tmp_path / "origin"
    one = make_repo(origin, {"a.txt": "one\n"})
    git(["branch", "old"], cwd=origin)
    two = commit(origin, {"a.txt": "two\n"}, "second")
    at_head = prepare(workspaces, task({"path": "origin"}), tmp_path)
    assert at_head.base_commit == two
    assert (at_head.path / "a.txt").read_text() == "two\n"
    at_sha = prepare(workspaces, task({"path": "origin", "ref": one}), tmp_path)
    assert at_sha.base_commit == one and head(at_sha.path) == one
    at_branch = prepare(workspaces, task({"path": "origin", "ref": "old"}), tmp_path)
    assert at_branch.base_commit == one
    assert (at_branch.path / "a.txt").read_text() == "one\n"


def test_url_is_cloned_and_branch_resolved(tmp_path: Path, workspaces: Any) -> None:
    origin = tmp_path / "origin"
    make_repo(origin, {"a.txt": "one\n"})
    git(["checkout", "--quiet", "-b", "feature"], cwd=origin)
    feature = commit(origin, {"b.txt": "b\n"}, "feature")
    git(["checkout", "--quiet", "main"], cwd=origin)
    ws = prepare(workspaces, task({"url": origin.as_uri(), "ref": "feature"}), tmp_path)
    assert ws.base_commit == feature and (ws.path / "b.txt").exists()


def test_unknown_ref_and_missing_path_are_clear_errors(tmp_path: Path) -> None:
    make_repo(tmp_path / "origin", {"a.txt": "a\n"})
    with pytest.raises(WorkspaceError, match="'nope' names no commit"):
        prepare_workspace(task({"path": "origin", "ref": "nope"}), tmp_path, parent=tmp_path)
    with pytest.raises(WorkspaceError, match="not a directory"):
        prepare_workspace(task({"path": "missing"}), tmp_path, parent=tmp_path)
    # A failed preparation leaves no temp dir behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["origin"]


def test_option_injection_is_refused(tmp_path: Path) -> None:
    proof = tmp_path / "pwned"
    with pytest.raises(ValidationError):
        Repository(url=f"--upload-pack=touch {proof}")
    with pytest.raises(ValidationError):
        Repository(path=".", ref="--output=/tmp/x")
    # Even a spec that skipped validation is refused by the workspace itself.
    bad_url = Repository.model_construct(url=f"--upload-pack=touch {proof}", path=None, ref="HEAD")
    with pytest.raises(WorkspaceError, match="starts with '-'"):
        checkout(bad_url, tmp_path, tmp_path / "dest")
    make_repo(tmp_path / "origin", {"a.txt": "a\n"})
    with pytest.raises(GitError, match="starts with '-'"):
        resolve_commit(tmp_path / "origin", "--output=/tmp/x", git_env())
    assert not proof.exists()


def test_setup_runs_and_its_output_stays_out_of_the_diff(tmp_path: Path, workspaces: Any) -> None:
    write_plain(tmp_path / "src")
    spec = task({"path": "src"}, setup=["echo built > build.txt && echo setup-ran"])
    ws = prepare(workspaces, spec, tmp_path)
    assert "setup-ran" in ws.setup[0].output and ws.setup[0].exit_code == 0
    assert ws.start_commit != ws.base_commit
    assert head(ws.path) == ws.base_commit  # the snapshot does not move HEAD
    assert diff(ws.path, ws.start_commit).files == ()
    (ws.path / "new.txt").write_text("agent\n")
    assert diff(ws.path, ws.start_commit).files == ("new.txt",)


def test_failing_setup_is_a_clear_error(tmp_path: Path) -> None:
    write_plain(tmp_path / "src")
    with pytest.raises(WorkspaceError, match=r"(?s)exited with code 4.*broken-dep"):
        prepare_workspace(task({"path": "src"}, setup=["echo broken-dep; exit 4"]), tmp_path)
    with pytest.raises(WorkspaceError, match=r"timed out after 0\.5s"):
        prepare_workspace(task({"path": "src"}, setup=["sleep 30"]), tmp_path, setup_timeout_s=0.5)


def test_diff_includes_untracked_files_and_checks_allowed_paths(
    tmp_path: Path, workspaces: Any
) -> None:
    write_plain(tmp_path / "src")
    ws = prepare(workspaces, task({"path": "src"}), tmp_path)
    (ws.path / "pkg" / "mod.py").write_text("X = 2\nY = 3\n")
    (ws.path / "pkg" / "new.py").write_text("Z = 1\n")
    (ws.path / "README.md").unlink()
    (ws.path / "pkg2").mkdir()
    (ws.path / "pkg2" / "evil.py").write_text("pass\n")
    (ws.path / ".gitignore").write_text("*.log\n")
    (ws.path / "debug.log").write_text("ignored\n")
    # The agent's own staging must survive the diff.
    git(["add", "pkg/new.py"], cwd=ws.path)
    staged_before = git(["diff", "--cached", "--name-only"], cwd=ws.path)

    result = diff(ws.path, ws.base_commit, ["pkg/", ".gitignore"])

    assert result.base_commit == ws.base_commit
    assert set(result.files) == {
        "pkg/mod.py",
        "pkg/new.py",
        "README.md",
        "pkg2/evil.py",
        ".gitignore",
    }
    assert result.files_changed == 5
    assert set(result.outside_allowed) == {"README.md", "pkg2/evil.py"}
    assert (result.insertions, result.deletions) == (2 + 1 + 1 + 1, 1 + 1)
    assert "+Z = 1" in result.patch and "new file mode" in result.patch
    assert "debug.log" not in result.patch
    assert git(["diff", "--cached", "--name-only"], cwd=ws.path) == staged_before


def test_diff_counts_commits_the_agent_made(tmp_path: Path, workspaces: Any) -> None:
    write_plain(tmp_path / "src")
    ws = prepare(workspaces, task({"path": "src"}), tmp_path)
    commit(ws.path, {"done.txt": "yes\n"}, "agent commit")
    result = diff(ws.path, ws.base_commit)
    assert result.files == ("done.txt",) and result.outside_allowed == ()


def test_git_ignores_the_users_global_config(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Someone Else\n[core]\n\tautocrlf = true\n")
    env = git_env({"PATH": os.defpath + ":/usr/bin", "HOME": str(home)})
    repo = tmp_path / "r"
    repo.mkdir()
    git(["init", "--quiet"], cwd=repo, env=env)
    listed = git(["config", "--list", "--show-origin"], cwd=repo, env=env)
    assert "Someone Else" not in listed and "autocrlf" not in listed
    ident = git(["var", "GIT_AUTHOR_IDENT"], cwd=repo, env=env)
    assert ident.startswith("benchlab <benchlab@localhost> 946684800")
