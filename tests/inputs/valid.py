"""Strategies for valid ``models.yaml`` and task documents, as plain Python data."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

NAME = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)
# Floats that read back as floats from YAML, and stay well within every bound.
AMOUNT = st.integers(1, 100_000).map(lambda n: n / 100)

ENGINE_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "backend": st.sampled_from(["cpu", "cuda", "rocm", "vulkan"]),
    "ctx_size": st.integers(256, 65536),
    "parallel": st.integers(1, 8),
    "threads": st.integers(1, 64),
    "batch_size": st.integers(1, 4096),
    "n_gpu_layers": st.integers(0, 99),
    "flash_attn": st.sampled_from(["on", "off", "auto"]),
    "cache_type_k": st.sampled_from(["f16", "q8_0", "q4_0"]),
}


@st.composite
def engine_section(draw: st.DrawFn) -> dict[str, Any]:
    """Some engine settings, a few of them swept over lists of values."""
    keys = draw(st.lists(st.sampled_from(sorted(ENGINE_VALUES)), max_size=4, unique=True))
    section: dict[str, Any] = {}
    for key in keys:
        values = ENGINE_VALUES[key]
        one_or_many = values | st.lists(values, min_size=1, max_size=3, unique=True)
        section[key] = draw(one_or_many)
    if draw(st.booleans()):
        section["extra_args"] = draw(
            st.lists(st.sampled_from(["--mlock", "--no-mmap"]), max_size=2)
        )
    return section


LOCAL_MODEL: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {
        "name": NAME,
        "repo_id": st.from_regex(r"[a-z]{1,6}/[a-z][a-z0-9.-]{0,8}-GGUF", fullmatch=True),
        "quant_tags": st.lists(st.sampled_from(["Q4_K_M", "Q8_0", "F16"]), min_size=1, max_size=3,
                               unique=True),
    },
    optional={
        "revision": st.sampled_from(["main", "v1.0", "refs/pr/1", "0" * 40]),
        "context_size": st.integers(256, 131072),
        "chat_template": st.sampled_from(["chatml", "llama3"]),
        "engine": engine_section(),
    },
)  # fmt: skip

API_MODEL: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {
        "name": NAME,
        "provider": st.sampled_from(["openai", "openrouter"]),
        "base_url": st.sampled_from(["https://api.example.org/v1", "http://127.0.0.1:8080/v1"]),
        "api_key_env": st.sampled_from(["OPENAI_API_KEY", "ROUTER_KEY"]),
    },
    optional={"input_price_per_mtok": AMOUNT, "context_size": st.integers(256, 200000)},
)

AGENT = st.fixed_dictionaries(
    {"name": NAME, "argv": st.just(["python3", "agent.py", "--prompt-file", "{prompt_file}"])},
    optional={
        "prompt_via": st.sampled_from(["stdin", "file", "arg"]),
        "env": st.fixed_dictionaries({"AGENT_URL": st.just("{base_url}")}),
    },
)


MODEL: st.SearchStrategy[dict[str, Any]] = st.one_of(LOCAL_MODEL, API_MODEL)


def _name(entry: dict[str, Any]) -> Any:
    return entry["name"]


MODELS_KEYS: dict[str, st.SearchStrategy[Any]] = {
    "bucket": st.from_regex(r"[a-z0-9][a-z0-9-]{1,20}[a-z0-9]", fullmatch=True),
    "engine": engine_section(),
    "models": st.lists(MODEL, max_size=3, unique_by=_name),
    "agents": st.lists(AGENT, max_size=1),
    "cost": st.fixed_dictionaries({"host_price_per_hour": AMOUNT}),
}
MODELS_FILE = st.fixed_dictionaries({}, optional=MODELS_KEYS)

CHECK = st.fixed_dictionaries(
    {"name": NAME, "run": st.sampled_from(["pytest -q", "python3 -m unittest", "make test"])},
    optional={
        "timeout_s": AMOUNT,
        "tests": st.sampled_from(["pytest", "unittest"]),
        "junit": st.sampled_from(["report.xml", "build/junit.xml"]),
    },
)

GRADER = st.fixed_dictionaries(
    {"kind": st.just("contains"), "text": st.sampled_from(["done", "ok"])},
    optional={"source": st.sampled_from(["final_answer", "diff"]), "weight": AMOUNT},
)


@st.composite
def task_file(draw: st.DrawFn) -> dict[str, Any]:
    """A valid task; its ``name`` is the file name the test must use."""
    task: dict[str, Any] = {
        "name": draw(NAME),
        "archetype": draw(st.sampled_from(["repo_maintenance", "feature_implementation"])),
        "repository": draw(
            st.fixed_dictionaries({"path": st.just("repo")})
            | st.fixed_dictionaries(
                {"url": st.sampled_from(["https://example.org/r.git", "git@example.org:r.git"])},
                optional={"ref": st.sampled_from(["main", "v1.2.3", "HEAD"])},
            )
        ),
        "prompt": "Fix the failing test.",
    }
    if draw(st.booleans()):
        task["variables"] = {"feature": draw(TEXT)}
        task["prompt"] = "Add {{feature}} to the module."
    optional: dict[str, st.SearchStrategy[Any]] = {
        "description": TEXT,
        "limits": st.fixed_dictionaries(
            {}, optional={"max_turns": st.integers(1, 100), "timeout_s": AMOUNT}
        ),
        "checks": st.lists(CHECK, max_size=2, unique_by=_name),
        "protected_paths": st.lists(st.sampled_from(["tests", "check.sh", "src/x.py"]), max_size=2),
        "setup": st.lists(st.sampled_from(["make", "pip install -e ."]), max_size=2),
        "stuck_after_s": AMOUNT,
        "guidelines": st.lists(
            st.fixed_dictionaries({"name": st.just("clear"), "description": TEXT}), max_size=1
        ),
        "graders": st.lists(GRADER, max_size=2),
    }
    for key in draw(st.lists(st.sampled_from(sorted(optional)), unique=True)):
        task[key] = draw(optional[key])
    return task
