"""An engine that dies says why: the signal by name, its usual fix, its last log lines.

The "llama-server" here is a real executable that behaves like a build with CPU code this
host cannot run: it answers ``--version``, logs its start-up, then dies of SIGILL right
after ``llama threadpool init``, as such a build does.
"""

from __future__ import annotations

import signal
import stat
from pathlib import Path

import pytest

from benchlab.agents.pi import PiHarness
from benchlab.config.models import EngineConfig
from benchlab.demo import plan_demo, run_on_engine
from benchlab.engine.crash import SIGILL_REMEDY, describe_exit, exit_signal, explain_exit
from benchlab.engine.server import LlamaServer
from benchlab.errors import EngineError
from benchlab.results import TrialStatus
from benchlab.settings import Settings
from benchlab.simulate.engines import failure_reason
from benchlab.summary import token_accounting

REPO = Path(__file__).resolve().parents[2]

SIGILL_SERVER = """#!/bin/bash
if [ "$1" = "--version" ]; then
  echo "version: 11434 (fake0001)" >&2
  echo "built with cc for x86_64-linux-gnu" >&2
  exit 0
fi
echo "main: loading model"
echo "llama_model_loader: loaded meta data"
echo ""
echo "llama threadpool init, n_threads = 2"
echo ""
kill -ILL $$
"""


def fake_server(tmp_path: Path, script: str = SIGILL_SERVER) -> Path:
    path = tmp_path / "llama-server"
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (-4, "killed by SIGILL (illegal instruction, exit code -4)"),
        (132, "killed by SIGILL (illegal instruction, exit code 132)"),
        (-9, "killed by SIGKILL (killed, exit code -9)"),
        (137, "killed by SIGKILL (killed, exit code 137)"),
        (1, "exited with code 1"),
        (0, "exited with code 0"),
        (None, "still running"),
    ],
)
def test_exit_codes_in_words(code: int | None, words: str) -> None:
    assert describe_exit(code) == words


def test_only_signals_are_signals() -> None:
    assert exit_signal(-4) is signal.SIGILL and exit_signal(132) is signal.SIGILL
    assert exit_signal(2) is None and exit_signal(128) is None and exit_signal(255) is None


def test_the_message_keeps_the_log_and_says_when_it_is_empty() -> None:
    text = explain_exit("llama-server (m)", -4, "before it was ready", ["a", "b"])
    head, *rest = text.splitlines()
    assert SIGILL_REMEDY in head and head.endswith("last log lines:")
    assert rest == ["a", "b"]
    assert explain_exit("x", 1, "while serving", []).endswith("its log is empty")


def test_sigill_at_start_names_the_signal_the_fix_and_the_log(tmp_path: Path) -> None:
    server = LlamaServer(
        fake_server(tmp_path),
        tmp_path / "model.gguf",
        alias="m",
        engine=EngineConfig(),
        model_context_size=2048,
        log_path=tmp_path / "server.log",
        start_timeout_s=30,
    )
    with pytest.raises(EngineError) as caught:
        server.start()
    message = str(caught.value)
    first = message.splitlines()[0]
    assert first.startswith("llama-server (m) killed by SIGILL (illegal instruction, exit code -4)")
    assert SIGILL_REMEDY in first
    # The last non-empty log lines, not an empty list.
    assert "llama threadpool init, n_threads = 2" in message.splitlines()
    assert "" not in message.splitlines()
    # The one-line reason a trial records keeps all three.
    reason = failure_reason(caught.value)
    assert "SIGILL" in reason and "GGML_NATIVE=OFF" in reason
    assert reason.endswith("llama threadpool init, n_threads = 2"), reason


def test_demo_trial_on_a_sigill_engine_is_an_error_without_a_token_mismatch(
    tmp_path: Path,
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        models_file=REPO / "models.yaml",
        tasks_dir=REPO / "tasks",
        llama_server=fake_server(tmp_path),
        server_start_timeout_s=30,
    )
    plan = plan_demo(settings, "sample", None)
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    # The engine dies before the agent would start, so the agent need not be installed.
    result = run_on_engine(settings, plan, model, PiHarness(version=settings.pi_version))
    assert result.status is TrialStatus.error
    assert result.reason.startswith("engine: llama-server (gemma3-270m) killed by SIGILL")
    assert SIGILL_REMEDY in result.reason
    assert "llama threadpool init" in result.reason
    # No call was made, so there is nothing to compare: no false "counts differ".
    assert result.calls == ()
    assert token_accounting(result) == (None, "no model call was made; nothing to compare")
