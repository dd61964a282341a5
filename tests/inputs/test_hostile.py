"""Hostile values in configuration: each is refused at load or neutralised where it is used.

Option injection into git (URL, ref), shell injection through the prompt, paths that
leave the workspace, and file names from the hub that would leave the bucket prefix.
Each attack would create a marker file; none may appear.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from benchlab.agents.base import AgentEndpoint
from benchlab.agents.command import CommandHarness
from benchlab.cache import ModelCache
from benchlab.config import LocalModel, Repository, load_models, load_task
from benchlab.config.agents import CommandAgent
from benchlab.download import plan_download
from benchlab.errors import StoreError
from benchlab.gitrepo import GitError, git, git_env, resolve_commit
from benchlab.hub import Hub, HubError
from benchlab.protect import restore
from benchlab.quants import QuantError
from benchlab.store import ObjectStore
from benchlab.workspace import WorkspaceError, checkout
from tests.fixtures.hub import HubRepos
from tests.gitutil import make_repo
from tests.hub_double import gguf_file
from tests.inputs.problems import refusal

TASK = """\
name: t
archetype: repo_maintenance
repository:
  {source}
  ref: {ref}
prompt: Fix it.
"""


def _task(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tasks" / "t.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "url",
    [
        "--upload-pack=touch {marker}",
        "-u touch {marker}",
        "ext::sh -c touch% {marker}",
        "ssh://-oProxyCommand=touch%20{marker}/repo",
        "git@-oProxyCommand=touch:repo",
        "https://example.org/r.git\n--upload-pack=touch {marker}",
    ],
)
def test_url_option_injection_is_refused_at_load(tmp_path: Path, url: str) -> None:
    value = json.dumps(url.format(marker=tmp_path / "marker"))
    path = _task(tmp_path, TASK.format(source=f"url: {value}", ref="main"))
    [(line, rest)] = refusal(load_task, path)
    assert line == 4 and rest.startswith("repository.url: url ")


@pytest.mark.parametrize(
    "ref",
    ["--upload-pack=touch /tmp/x", "-u", "main..evil", "HEAD@{1}", "a b", "v1:x", "refs/.hidden"],
)
def test_ref_option_injection_is_refused_at_load(tmp_path: Path, ref: str) -> None:
    path = _task(tmp_path, TASK.format(source="path: repo", ref=json.dumps(ref)))
    [(line, rest)] = refusal(load_task, path)
    assert line == 5 and rest.startswith("repository.ref: ref ")


@pytest.mark.parametrize(
    ("url", "ref"),
    [
        ("https://github.com/psf/requests.git", "v2.32.3"),
        ("git@github.com:psf/requests.git", "main"),
        ("ssh://git@example.org:2222/r.git", "refs/pr/1"),
        ("file:///srv/repos/r.git", "0123456789abcdef0123456789abcdef01234567"),
        ("/srv/repos/r.git", "HEAD"),
    ],
)
def test_plain_urls_and_refs_still_load(tmp_path: Path, url: str, ref: str) -> None:
    task = load_task(_task(tmp_path, TASK.format(source=f"url: {json.dumps(url)}", ref=ref)))
    assert (task.repository.url, task.repository.ref) == (url, ref)


def test_git_stays_safe_when_validation_is_bypassed(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    origin = tmp_path / "origin"
    make_repo(origin, {"a.txt": "a\n"})
    hostile = [
        Repository.model_construct(url=f"--upload-pack=touch {marker}", path=None, ref="HEAD"),
        Repository.model_construct(url=f"ext::sh -c touch% {marker}", path=None, ref="HEAD"),
        Repository.model_construct(url=None, path=str(origin), ref=f"--output={marker}"),
    ]
    for n, repository in enumerate(hostile):
        with pytest.raises(WorkspaceError):
            checkout(repository, tmp_path, tmp_path / f"dest{n}")
    # Below the workspace's own checks: the URL after ``--`` is never an option, and
    # git's environment allows no transport that runs commands.
    for url in (f"--upload-pack=touch {marker}", f"ext::sh -c touch% {marker}"):
        with pytest.raises(GitError):
            git(["clone", "--no-checkout", "--", url, str(tmp_path / "d")], cwd=tmp_path)
    with pytest.raises(GitError, match="starts with '-'"):
        resolve_commit(origin, f"--output={marker}", git_env())
    assert not marker.exists()


PRINTER = (
    "import json, os, sys; print(json.dumps({'argv': sys.argv[1:], 'stdin': sys.stdin.read(),"
    " 'file': open(os.environ['BENCHLAB_PROMPT_FILE']).read()}))"
)


@pytest.mark.parametrize("prompt_via", ["arg", "stdin", "file"])
def test_prompt_with_shell_syntax_reaches_the_agent_as_text(
    tmp_path: Path, prompt_via: str
) -> None:
    marker = tmp_path / "marker"
    payload = f"$(touch {marker}) `touch {marker}`; rm -rf {tmp_path}; touch {marker} {{workspace}}"
    path = _task(tmp_path, textwrap.dedent(f"""\
        name: t
        archetype: repo_maintenance
        repository: {{path: repo}}
        variables: {{thing: {json.dumps(payload)}}}
        prompt: "Do {{{{thing}}}} now"
        """))  # fmt: skip
    prompt = load_task(path).rendered_prompt()
    assert prompt == f"Do {payload} now"
    argv = [sys.executable, "-c", PRINTER, "--", "{prompt}"]
    agent = CommandAgent.model_validate({"name": "p", "argv": argv, "prompt_via": prompt_via})
    workspace = tmp_path / "ws"
    workspace.mkdir()
    endpoint = AgentEndpoint(base_url="http://127.0.0.1:9/v1", model="m")
    run = CommandHarness(agent).run(workspace, tmp_path / "trial", endpoint, prompt, None, 60)
    assert run.error is None, run.error
    seen = json.loads(run.final_answer)
    assert seen["argv"] == ["--", prompt] and seen["file"] == prompt
    assert seen["stdin"] == (prompt if prompt_via == "stdin" else "")
    assert not marker.exists() and workspace.is_dir() and path.is_file()


@pytest.mark.parametrize(
    "argv",
    [
        ["sh", "-c", "my-agent --task {prompt}"],
        ["/bin/bash", "-lc", "my-agent '{prompt}'"],
        ["python3", "-c", "import os; os.system('agent {prompt}')"],
    ],
)
def test_prompt_inside_shell_code_is_refused_at_load(tmp_path: Path, argv: list[str]) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(f"models: []\nagents:\n  - name: a\n    argv: {json.dumps(argv)}\n")
    [(line, rest)] = refusal(load_models, path)
    assert line == 3 and rest.startswith("agents[0]: {prompt} inside the code of")
    # As its own argument, the shell does not parse it: that stays allowed.
    safe = ["sh", "-c", 'my-agent --task "$1"', "sh", "{prompt}"]
    path.write_text(f"models: []\nagents:\n  - name: a\n    argv: {json.dumps(safe)}\n")
    assert load_models(path).agents[0].argv == tuple(safe)


@pytest.mark.parametrize(
    ("snippet", "line", "field"),
    [
        ("protected_paths: [tests, ../outside]", 7, "protected_paths"),
        ("protected_paths: [/etc/passwd]", 7, "protected_paths"),
        ("allowed_paths: ['src\\\\..\\\\..\\\\x']", 7, "allowed_paths"),
        (
            "checks:\n  - name: t\n    run: 'true'\n    junit: ../../report.xml",
            10,
            "checks[0].junit",
        ),
        ("graders:\n  - kind: contains\n    text: x\n    file: /etc/shadow", 10, "graders[0].file"),
    ],
)
def test_paths_leaving_the_workspace_are_refused_at_load(
    tmp_path: Path, snippet: str, line: int, field: str
) -> None:
    text = TASK.format(source="path: repo", ref="HEAD") + snippet + "\n"
    [(at, rest)] = refusal(load_task, _task(tmp_path, text))
    assert (at, rest.split(": ")[0]) == (line, field)
    assert "must be a relative path inside the workspace" in rest


def test_symlink_planted_under_a_protected_path_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep\n")
    repo = tmp_path / "repo"
    base = make_repo(repo, {"tests/test_a.py": "assert True\n"})
    # The agent swaps the protected folder for a link to a folder of the host.
    for child in (repo / "tests").iterdir():
        child.unlink()
    (repo / "tests").rmdir()
    os.symlink(outside, repo / "tests")
    with pytest.raises(ValueError, match="leads outside the workspace"):
        restore(repo, base, ["tests/test_a.py"])
    assert (outside / "keep.txt").read_text() == "keep\n"
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("repo_id", "../etc", "must be one plain name"),
        ("repo_id", "org/..", "must be one plain name"),
        ("revision", "../../x", "must not contain '..'"),
        ("quant_tags", "[../Q4]", "String should match pattern"),
        ("quant_tags", "[Q4/x]", "String should match pattern"),
    ],
)
def test_model_names_that_leave_the_bucket_prefix_are_refused_at_load(
    tmp_path: Path, key: str, value: str, says: str
) -> None:
    fields = {"name": "m", "repo_id": "org/m-GGUF", "quant_tags": "[Q4_K_M]", key: value}
    body = "".join(f"    {k}: {v}\n" for k, v in fields.items())
    path = tmp_path / "models.yaml"
    path.write_text("models:\n  - " + body.lstrip())
    [(line, rest)] = refusal(load_models, path)
    assert line == 2 + list(fields).index(key) and key in rest.split(": ")[0] and says in rest


@pytest.mark.parametrize("name", ["../../escape-Q4_K_M.gguf", "/abs/escape-Q4_K_M.gguf",
                                  "a/./escape-Q4_K_M.gguf"])  # fmt: skip
def test_hub_file_names_that_leave_the_prefix_are_refused(
    store: ObjectStore, hub_repos: HubRepos, tmp_path: Path, name: str
) -> None:
    hub = hub_repos.hub
    repo_id = f"evil/escape-{abs(hash(name)) % 10**8}"
    hub.add_repo(
        repo_id, [gguf_file(tmp_path, name, 4096), gguf_file(tmp_path, "ok-Q8_0.gguf", 64)]
    )
    model = LocalModel(name="evil", repo_id=repo_id, quant_tags=("Q4_K_M",))
    with pytest.raises(QuantError, match="unsafe file name"):
        plan_download(store, Hub(hub.url), [model])
    assert store.list() == []


def test_hub_commit_that_leaves_the_prefix_is_refused(
    store: ObjectStore, hub_repos: HubRepos, tmp_path: Path
) -> None:
    hub = hub_repos.hub
    hub.add_repo("evil/commit", [gguf_file(tmp_path, "m-Q4_K_M.gguf", 64)])
    hub.repos["evil/commit"].commit = "../../../escape"
    model = LocalModel(name="evil", repo_id="evil/commit", quant_tags=("Q4_K_M",))
    with pytest.raises(HubError, match="unsafe commit"):
        plan_download(store, Hub(hub.url), [model])
    assert store.list() == []


def test_cache_keys_outside_its_root_are_refused(store: ObjectStore, tmp_path: Path) -> None:
    cache = ModelCache(tmp_path / "cache", store, max_bytes=1 << 20)
    for key in ("models/../../escape.gguf", "/abs.gguf", "../escape.gguf"):
        with pytest.raises(StoreError, match="not a plain relative path"):
            cache.fetch_file(key, "0" * 64)
    assert not (tmp_path / "escape.gguf").exists()
