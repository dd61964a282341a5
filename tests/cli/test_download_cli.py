"""``benchlab download`` as a user runs it: a subprocess against the hub double and real S3."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from benchlab.services.s3 import S3Endpoint
from benchlab.store import ObjectStore
from tests.fixtures.hub import HubRepos
from tests.run_cli import benchlab


def _env(tmp_path: Path, s3: S3Endpoint, store: ObjectStore, hub: HubRepos) -> dict[str, str]:
    return {
        "BENCHLAB_DATA_DIR": str(tmp_path / "data"),
        "BENCHLAB_HF_ENDPOINT": hub.hub.url,
        "BENCHLAB_HF_TOKEN": "hf_do_not_print_me",
        "BENCHLAB_S3_ENDPOINT": s3.url,
        "BENCHLAB_S3_ACCESS_KEY": s3.access_key.get_secret_value(),
        "BENCHLAB_S3_SECRET_KEY": s3.secret_key.get_secret_value(),
        "BENCHLAB_S3_BUCKET": store.bucket,
    }


def _flow_env(tmp_path: Path, s3: S3Endpoint, store: ObjectStore, hub: HubRepos) -> dict[str, str]:
    """``_env`` plus the API of the Prefect test harness the flow reports to."""
    from prefect.settings import PREFECT_API_URL

    return {
        **_env(tmp_path, s3, store, hub),
        "BENCHLAB_PREFECT_API_URL": str(PREFECT_API_URL.value()),
    }


def _models(tmp_path: Path, repo: str, tags: str, revision: str = "main") -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(textwrap.dedent(f"""\
        models:
          - {{name: m, repo_id: {repo}, revision: {revision}, quant_tags: [{tags}]}}
          - {{name: gpt, provider: openai, base_url: "https://x/v1", api_key_env: K}}
        """))  # fmt: skip
    return path


@pytest.mark.usefixtures("prefect_harness")
def test_download_twice_second_run_transfers_zero_bytes(
    tmp_path: Path, s3_server: S3Endpoint, store: ObjectStore, hub_repos: HubRepos
) -> None:
    env = _flow_env(tmp_path, s3_server, store, hub_repos)
    config = str(_models(tmp_path, hub_repos.gemma, "Q4_K_M"))
    first = benchlab("download", "--config", config, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "skipping gpt: an API model, nothing to download" in first.stdout
    assert "transferred 253 MB; skipped 0 bytes (0 of 1 files" in first.stdout
    key = f"models/{hub_repos.gemma}/{hub_repos.gemma_commit}/{hub_repos.gemma_file.name}"
    head = store.head(key)
    assert head is not None and head.sha256 == hub_repos.gemma_file.sha256

    second = benchlab("download", "--config", config, "--model", "m", env=env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "transferred 0 bytes; skipped 253 MB (1 of 1 files" in second.stdout
    for done in (first, second):
        output = done.stdout + done.stderr
        assert "hf_do_not_print_me" not in output
        assert s3_server.secret_key.get_secret_value() not in output


@pytest.mark.parametrize(
    ("repo", "revision", "tags", "message"),
    [
        ("acme/nope", "main", "Q4_K_M", "error: no repository acme/nope on http://"),
        ("acme/tiny-GGUF", "v9", "Q4_K_M", "error: acme/tiny-GGUF: no revision 'v9' on http://"),
        ("acme/tiny-GGUF", "main", "Q2_K", "error: no GGUF file matches quant 'Q2_K'; the"),
    ],
)
def test_unknown_repo_revision_or_quant_is_one_line_and_exit_2(
    tmp_path: Path, s3_server: S3Endpoint, store: ObjectStore, hub_repos: HubRepos,
    repo: str, revision: str, tags: str, message: str,
) -> None:  # fmt: skip
    config = str(_models(tmp_path, repo, tags, revision))
    done = benchlab("download", "-c", config, env=_env(tmp_path, s3_server, store, hub_repos))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_unknown_model_name_exits_2(
    tmp_path: Path, s3_server: S3Endpoint, store: ObjectStore, hub_repos: HubRepos
) -> None:
    config = str(_models(tmp_path, hub_repos.tiny, "Q4_K_M"))
    done = benchlab(
        "download", "-c", config, "-m", "zz", env=_env(tmp_path, s3_server, store, hub_repos)
    )
    assert done.returncode == 2 and done.stderr == "error: unknown model 'zz'; valid: gpt, m\n"


@pytest.mark.usefixtures("prefect_harness")
def test_dry_run_prints_the_plan_and_transfers_nothing(
    tmp_path: Path, s3_server: S3Endpoint, store: ObjectStore, hub_repos: HubRepos
) -> None:
    env = _flow_env(tmp_path, s3_server, store, hub_repos)
    config = str(_models(tmp_path, hub_repos.tiny, "Q8_0"))
    done = benchlab("download", "-c", config, "--dry-run", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "tiny-Q8_0-00003-of-00003.gguf" in done.stdout and "transfer from hf" in done.stdout
    assert "dry run: would transfer 307 kB, skip 0 bytes" in done.stdout
    assert store.list() == []
