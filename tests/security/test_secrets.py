"""No secret reaches a record: every key benchlab holds is set to a marker string, a
sweep runs through every stage, and each place a secret could land is read back.

The sweep: the small local model (its GGUF staged through an S3 server that accepts
only the marker keys) and an API model (a provider double that checks the marker key
and, asked to, repeats it in an error), each with a solving agent and an agent that
dumps its environment everywhere it can. Then curate, evaluate (a judge endpoint that
checks the judge's marker key) and report. The markers are also in the test process's
own environment under the names agents look for, as a user's shell would have them.
"""

from __future__ import annotations

import json
import logging
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from benchlab.services.s3 import LocalS3Server, S3Endpoint
from benchlab.services.s3_keys import CREDENTIALS_FILE, write_private
from benchlab.settings import Settings
from tests.fixtures.simulate import SCRIPT, write_config
from tests.security.leak_search import (
    Found,
    file_texts,
    leaks,
    marker,
    mlflow_texts,
    prefect_texts,
)
from tests.security.provider_double import KeyCheckingProvider

pytestmark = pytest.mark.slow

API_KEY_ENV = "OPENAI_API_KEY"
"""The variable ``models.yaml`` names for the API model's key; agents read it too."""

HOST_SECRETS = ("HF_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "ANTHROPIC_API_KEY")
"""Secrets a user's shell often holds; an agent must not inherit them."""

VERDICT = json.dumps({"rationale": "It adds divide as asked.", "score": 4, "refused": False})
"""A judge answer every judge accepts."""


@pytest.fixture
def markers(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A marker per secret, set in this process's environment; purpose -> value."""
    values = {
        "BENCHLAB_HF_TOKEN": marker("hf-token"),
        "BENCHLAB_S3_ACCESS_KEY": marker("s3-access"),
        "BENCHLAB_S3_SECRET_KEY": marker("s3-secret"),
        "BENCHLAB_JUDGE_API_KEY": marker("judge-key"),
        API_KEY_ENV: marker("api-key"),
        **{name: marker(f"host-{name.lower()}") for name in HOST_SECRETS},
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def keyed_s3(tmp_path: Path, markers: dict[str, str]) -> Iterator[LocalS3Server]:
    """A local S3 server that accepts only the marker keys (kept outside the data dir,
    like a user's own S3 service)."""
    root = tmp_path / "s3"
    root.mkdir()
    keys = {
        "access_key": markers["BENCHLAB_S3_ACCESS_KEY"],
        "secret_key": markers["BENCHLAB_S3_SECRET_KEY"],
    }
    write_private(root / CREDENTIALS_FILE, json.dumps(keys))
    with LocalS3Server(root) as server:
        yield server


def _settings(
    tmp_path: Path, s3: S3Endpoint, provider: KeyCheckingProvider, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """The simulate tests' configuration plus an API model and the envdump agent; the
    secrets come from the environment, as a user sets them."""
    api_model = (
        f"  - {{name: api-double, provider: openai, base_url: '{provider.base_url}',"
        f" api_key_env: {API_KEY_ENV}, context_size: 4096}}"
    )
    models, tasks = write_config(tmp_path, api_model)
    config = yaml.safe_load(models.read_text())
    config["agents"].append(
        {"name": "script-envdump", "argv": [sys.executable, str(SCRIPT), "envdump", "1"]}
    )
    models.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("BENCHLAB_S3_ENDPOINT", s3.url)
    return Settings(
        data_dir=tmp_path / "data",
        models_file=models,
        tasks_dir=tasks,
        mlflow_experiment="secrets-tests",
        s3_bucket="benchlab-secrets",
        sandbox="local",
        probe_prompt_tokens=16,
        probe_gen_tokens=4,
        probe_repeats=1,
    )


def _prefect_database() -> Path | None:
    from prefect.settings import get_current_settings

    url = str(get_current_settings().server.database.connection_url or "")
    if "sqlite" not in url:
        return None
    return Path(url.split(":///", 1)[1])


def test_no_secret_reaches_a_trace_run_artifact_log_report_or_dataset(
    tmp_path: Path,
    markers: dict[str, str],
    keyed_s3: LocalS3Server,
    prefect_harness: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    import mlflow

    from benchlab.config.simulate import SimulateRequest
    from benchlab.curate.filters import CurateFilters
    from benchlab.curate.options import CurateOptions
    from benchlab.evaluate.request import EvaluateRequest
    from benchlab.report.stage import ReportRequest
    from flows.curate import curate
    from flows.evaluate import evaluate
    from flows.report import report
    from flows.simulate import simulate

    caplog.set_level(logging.DEBUG, logger="benchlab")
    previous_uri = mlflow.get_tracking_uri()
    sweep = f"secrets-{uuid.uuid4().hex[:6]}"
    try:
        with (
            KeyCheckingProvider() as provider,
            KeyCheckingProvider(text=VERDICT, model="judge") as judge,
        ):
            settings = _settings(tmp_path, keyed_s3.endpoint, provider, monkeypatch)
            # The settings hold the markers: they came from the environment.
            assert settings.s3_access_key is not None
            assert settings.s3_access_key.get_secret_value() == markers["BENCHLAB_S3_ACCESS_KEY"]
            assert settings.hf_token is not None
            request = SimulateRequest(
                tasks=("guarded",),
                models=("gemma3-270m", "api-double"),
                agents=("script-solve", "script-envdump"),
                name=sweep,
                sandbox="local",
            )
            summary = simulate(request, settings)
            curated = curate(
                CurateFilters(sweeps=(sweep,)), CurateOptions(dataset=f"ds-{sweep}"), settings
            )
            evaluation = evaluate(
                EvaluateRequest(
                    dataset=f"{curated.dataset}@{curated.version}",
                    base_url=judge.base_url,
                    parallel=2,
                ),
                settings,
            )
            published = report(ReportRequest(sweep=sweep), settings)
            provider_keys, judge_keys = list(provider.keys), list(judge.keys)

        # The secrets were used where they belong, so the run exercised each path.
        assert summary.ran == 4, summary
        assert provider_keys and set(provider_keys) == {markers[API_KEY_ENV]}
        assert judge_keys and set(judge_keys) == {markers["BENCHLAB_JUDGE_API_KEY"]}
        assert curated.records == 4 and evaluation.records == 4
        html = published.html_path.read_text()
        assert "api-double" in html and "gemma3-270m" in html

        sources: list[Found] = list(mlflow_texts(tmp_path / "downloaded"))
        everything = "\n".join(text for _, text in sources)
        # The environment dumps and the provider's error were recorded, so a key in
        # either would have been found.
        assert '\\"OPENAI_API_KEY\\": \\"benchlab-gateway\\"' in everything
        assert "Incorrect API key provided" in everything
        # The local model's trials ran: its GGUF came through the marker-keyed S3.
        assert "gemma3-270m" in everything

        sources += file_texts(settings.state_dir)
        s3_root = keyed_s3.root
        sources += file_texts(
            s3_root, skip=[s3_root / CREDENTIALS_FILE, s3_root / "identities.json"]
        )
        sources += prefect_texts()
        database = _prefect_database()
        if database is not None and database.is_file():
            sources += file_texts(database.parent)
        sources.append(("report html", html))
        sources.append(("benchlab log records", caplog.text))
        out, err = capfd.readouterr()
        sources += [("test stdout", out), ("test stderr", err)]
        assert leaks(sources, markers) == []
    finally:
        mlflow.set_tracking_uri(previous_uri)
