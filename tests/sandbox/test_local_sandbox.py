"""The local sandbox: commands run on the host exactly as given."""

from __future__ import annotations

import subprocess
from pathlib import Path

from benchlab.sandbox import LocalSandbox, Sandbox, SandboxSession


def test_local_session_wraps_unchanged_and_runs_on_the_host(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    sandbox = LocalSandbox()
    assert isinstance(sandbox, Sandbox) and sandbox.name == "local"
    env = {"PATH": "/usr/bin:/bin", "MARK": "local-value"}
    argv = ["sh", "-c", 'echo "$MARK" > out.txt; pwd']
    with sandbox.session(tmp_path / "trial", workspace) as session:
        assert isinstance(session, SandboxSession)
        command = session.wrap(argv, cwd=workspace, env=env)
    assert command.argv == tuple(argv)
    assert command.cwd == workspace
    assert dict(command.env) == env
    done = subprocess.run(
        command.argv, cwd=command.cwd, env=dict(command.env), capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.strip() == str(workspace)
    assert (workspace / "out.txt").read_text() == "local-value\n"


def test_local_isolation_says_it_contains_nothing() -> None:
    assert "any file you can" in LocalSandbox().isolation
