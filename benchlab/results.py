"""Typed results of a trial; converted to MLflow in one place (``tracing``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Record(BaseModel):
    """Base of result records: plain data, immutable once made."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Usage(Record):
    """Token usage of one model call, as the server reported it."""

    prompt_tokens: int = 0
    """Input tokens."""

    completion_tokens: int = 0
    """Output tokens."""

    cached_tokens: int = 0
    """Input tokens served from the server's prompt cache, when reported."""


class ToolCall(Record):
    """A tool call the model asked for in one answer."""

    id: str = ""
    """The call id the model gave."""

    name: str
    """The tool's name."""

    arguments: str
    """The arguments as the model wrote them (a JSON string, if valid)."""

    offered: bool = True
    """Whether a tool of that name was offered in the request."""

    valid_json: bool = True
    """Whether ``arguments`` parses as a JSON object."""


class ModelCall(Record):
    """One model call that went through the gateway."""

    index: int
    """0-based order of the call within the trial."""

    endpoint: str
    """``chat/completions`` or ``completions``."""

    model: str
    """The model name the agent asked for."""

    request: dict[str, Any]
    """The request body as the agent sent it (secrets never appear here)."""

    response_text: str = ""
    """The answer's text content."""

    tool_calls: tuple[ToolCall, ...] = ()
    """Tool calls in the answer."""

    finish_reason: str | None = None
    """Why the model stopped."""

    usage: Usage = Usage()
    """Token usage reported by the server."""

    timings: dict[str, float] = Field(default_factory=dict)
    """llama-server's own ``timings`` object, when present."""

    stream: bool = False
    """Whether the answer was streamed."""

    start_ns: int
    """Wall-clock time the request arrived, ns since the epoch."""

    end_ns: int
    """Wall-clock time the last byte was sent, ns since the epoch."""

    ttft_s: float | None = None
    """Time from request to first content or tool-call token (streamed answers)."""

    status_code: int = 200
    """HTTP status of the upstream answer."""

    error: str | None = None
    """Upstream or gateway error, when the call failed."""

    stopped_by: str | None = None
    """The limit that refused this call (``max_turns``, ``max_output_tokens``, ...)."""

    repeated_tool_calls: int = 0
    """How many answers in a row just before this one asked for exactly the same tool
    calls (names and arguments) as this one: 0 for a new call, 2 for the third identical
    answer in a row. A sign the agent loops; answers without tool calls end a run."""


class AgentStep(Record):
    """A tool execution the agent reported in its own transcript."""

    tool: str
    """Tool name."""

    arguments: dict[str, Any] = Field(default_factory=dict)
    """Arguments passed to the tool."""

    output: str = ""
    """What the tool returned (trimmed)."""

    is_error: bool = False
    """Whether the tool reported an error."""

    start_ns: int | None = None
    """Start time, when the agent reports it."""

    end_ns: int | None = None
    """End time, when the agent reports it."""


class AgentRun(Record):
    """What the agent did, from its own point of view."""

    harness: str
    """The harness name (``pi``, ...)."""

    version: str
    """The harness version."""

    exit_code: int | None
    """The agent process's exit code; None if it was killed."""

    final_answer: str = ""
    """The agent's last assistant message."""

    steps: tuple[AgentStep, ...] = ()
    """Tool executions, in order."""

    stopped_by: str | None = None
    """``timeout`` or a gateway limit, if the agent was stopped."""

    duration_s: float = 0.0
    """Wall time of the agent process."""

    error: str | None = None
    """Why the harness failed, if it did."""

    transcript_path: str | None = None
    """The harness's own transcript or session file."""


class CheckResult(Record):
    """A task check run in the workspace after the agent."""

    name: str
    """The check's name."""

    command: str
    """The shell command."""

    exit_code: int | None
    """Exit code; None if it timed out."""

    expected_exit: int
    """The exit code that means pass."""

    passed: bool
    """Whether the exit code was the expected one."""

    duration_s: float
    """Wall time."""

    output: str
    """Combined stdout and stderr (tail kept)."""

    timed_out: bool = False
    """Whether the check was stopped at its timeout."""

    tests_passed: int | None = None
    """Tests that passed, when the check's test report could be read."""

    tests_failed: int | None = None
    """Tests that failed or errored, when the check's test report could be read."""

    tests_skipped: int | None = None
    """Tests skipped, when the check's test report could be read."""

    tests_source: str | None = None
    """Where the test counts came from: ``junit`` (the task's report), ``pytest junit``
    (the report benchlab asked pytest for), ``pytest summary`` or ``unittest summary``."""


class DiffResult(Record):
    """What the agent changed in the workspace."""

    base_commit: str
    """The commit the workspace started from."""

    patch: str
    """Unified diff against ``base_commit``, untracked files included."""

    files_changed: int
    """Number of files changed."""

    insertions: int
    """Lines added."""

    deletions: int
    """Lines removed."""

    files: tuple[str, ...] = ()
    """Paths changed."""

    outside_allowed: tuple[str, ...] = ()
    """Changed paths outside the task's ``allowed_paths``."""


class TrialStatus(StrEnum):
    """How a trial ended."""

    passed = "passed"
    failed = "failed"
    error = "error"
    timeout = "timeout"
    limit = "limit"


class EngineBuild(Record):
    """One llama-server build, as the binary describes itself."""

    version: str = ""
    """The version from ``--version`` (``6500``, or ``0.6.0-dev``), empty when none."""

    build_number: str = ""
    """llama.cpp's build number (``6500``; ``0`` for a build without git history)."""

    commit: str = ""
    """The llama.cpp commit the build says it is (``abc1234``; ``unknown`` for a build
    from a source tree without git)."""

    fingerprint: str = ""
    """Short sha256 of the binary and its llama.cpp libraries: two builds of one commit
    with other CMake flags (portable, native, CUDA) differ here."""

    compiler: str = ""
    """Compiler and target from ``--version`` (``cc (Debian 12.2.0) for x86_64-linux-gnu``)."""

    backends: tuple[str, ...] = ()
    """Compute backends compiled in, in the server's order (``CUDA``, ``CPU``)."""

    cpu_features: tuple[str, ...] = ()
    """CPU instruction sets and options the CPU backend was compiled with (``AVX2``, ...)."""

    cpu_variant: str = ""
    """The CPU code in use: the run-time-loaded variant's name (``haswell``) where the
    build chooses one at run time, else the most demanding compiled-in instruction set
    (``avx2``, ``avx512``, ``amx``)."""

    devices: tuple[str, ...] = ()
    """The devices the build saw where it ran (``CPU: AMD EPYC``, ``CUDA0: NVIDIA H100``)."""

    def label(self) -> str:
        """One line for people: ``6500 (commit abc1234, sha 1a2b3c4d5e6f), CPU avx2, backends
        CPU``."""
        head = self.version or "unknown version"
        inside = (
            [f"build {self.build_number}"] if self.build_number not in ("", self.version) else []
        )
        inside += [f"commit {self.commit}"] if self.commit else []
        inside += [f"sha {self.fingerprint}"] if self.fingerprint else []
        parts = [f"{head} ({', '.join(inside)})" if inside else head]
        if self.cpu_variant:
            parts.append(f"CPU {self.cpu_variant}")
        if self.backends:
            parts.append("backends " + "+".join(self.backends))
        return ", ".join(parts)


CONTENDED_LOAD_PER_CPU = 1.5
"""A trial whose mean 1-minute load average exceeds this many per CPU ran contended: its
own engine, agent and checks account for about one per CPU on a host sized to them."""


class HostLoad(Record):
    """How busy the host was while a trial (or a speed probe) ran."""

    cpus: int
    """CPUs this process may run on."""

    load_avg_mean: float
    """Mean of the sampled 1-minute load averages (runnable threads, host-wide)."""

    load_avg_max: float
    """Highest sampled 1-minute load average."""

    other_engines_max: int
    """Most llama-server processes seen at once besides the one serving the trial."""

    samples: int
    """Looks taken (one every few seconds)."""

    @property
    def contended(self) -> bool:
        """Whether speed figures measured meanwhile are not this configuration's alone:
        another engine ran, or the load exceeded :data:`CONTENDED_LOAD_PER_CPU` per CPU."""
        return self.other_engines_max > 0 or self.load_avg_mean > CONTENDED_LOAD_PER_CPU * self.cpus


class EngineInfo(Record):
    """The inference engine a trial ran against."""

    kind: str
    """``llama-server`` or ``api``."""

    version: str = ""
    """Server version or provider name."""

    load_time_s: float | None = None
    """Seconds from start to a healthy server."""

    peak_rss_bytes: int | None = None
    """Peak resident memory of the server process."""

    peak_vram_bytes: int | None = None
    """Peak GPU memory in use while the server ran, when a GPU tool reports it."""

    flags: tuple[str, ...] = ()
    """The exact command line the server was started with."""

    counted_prompt_tokens: int | None = None
    """Prompt tokens the server itself counted as processed during the trial (its
    ``/metrics``); exact only when the trial ran alone on the server."""

    counted_output_tokens: int | None = None
    """Tokens the server itself counted as generated during the trial (``/metrics``)."""

    probe: dict[str, float] = Field(default_factory=dict)
    """The speed probe's figures for this server (``probe.pp_tps``, ``probe.tg_tps``, ...)."""

    build: EngineBuild | None = None
    """Which llama.cpp build served the trial (version, commit, backends, CPU code)."""

    probe_load: HostLoad | None = None
    """The host's load when the speed probe ran."""


class TrialResult(Record):
    """Everything one trial produced; every started trial ends as one of these."""

    trial_id: str
    """Unique id of the trial (also its gateway route)."""

    task: str
    """Task name."""

    archetype: str
    """Task archetype."""

    model: str
    """Model name from models.yaml."""

    quant: str = ""
    """Quantization tag, for local models."""

    cell: str = ""
    """Engine configuration id."""

    sweep: str = ""
    """Sweep id this trial belongs to."""

    repeat: int = 0
    """Repeat index of this task in the sweep."""

    key: str = ""
    """The trial's identity within its sweep (cell, task, agent, repeat), used to resume."""

    seed: int | None = None
    """The sampling seed of this repeat."""

    sandbox: str = ""
    """Where the agent's tools ran (``local``, ``docker``)."""

    tampered: tuple[str, ...] = ()
    """Protected paths the agent changed (checks ran against the pristine files)."""

    harness: str = ""
    """Agent harness name."""

    status: TrialStatus
    """How the trial ended."""

    reason: str = ""
    """Why it ended so, in one line (empty when it passed)."""

    prompt: str = ""
    """The rendered prompt."""

    repository: str = ""
    """Repository URL or path."""

    start_ns: int
    """Start of the trial, ns since the epoch."""

    end_ns: int
    """End of the trial, ns since the epoch."""

    agent: AgentRun | None = None
    """What the agent did."""

    calls: tuple[ModelCall, ...] = ()
    """Model calls recorded by the gateway."""

    diff: DiffResult | None = None
    """What changed in the workspace."""

    checks: tuple[CheckResult, ...] = ()
    """Check results."""

    engine: EngineInfo | None = None
    """The engine the trial ran against."""

    host_load: HostLoad | None = None
    """How busy the host was while the trial ran."""

    params: dict[str, str] = Field(default_factory=dict)
    """Configuration to log as run params (``model.*``, ``engine.*``, ``agent.*``, ...)."""

    @property
    def wall_s(self) -> float:
        """Wall time of the trial in seconds."""
        return (self.end_ns - self.start_ns) / 1e9

    @property
    def input_tokens(self) -> int:
        """Prompt tokens over all model calls."""
        return sum(c.usage.prompt_tokens for c in self.calls)

    @property
    def output_tokens(self) -> int:
        """Completion tokens over all model calls."""
        return sum(c.usage.completion_tokens for c in self.calls)
