"""Why a llama-server exited: the signal or code in words, and what to do about it.

A server that dies before it is ready leaves an exit status and a log. The status alone
("exited with code -4") tells a user nothing; the signal's name and the usual cause do.
"""

from __future__ import annotations

import signal

SIGILL_REMEDY = (
    "this llama-server was built for CPU features this host cannot run (a -march=native "
    "build, e.g. AMX or AVX-512 code); rebuild portably with `make rebuild-engine` (the "
    "portable CMake flags are in pyproject.toml), or set BENCHLAB_LLAMA_SERVER to a "
    "llama-server built with -DGGML_NATIVE=OFF"
)
"""What to do when the engine dies of an illegal instruction."""

LOG_LINES = 12
"""Log lines an engine error carries: enough for llama.cpp's last stage and its error."""

_REMEDIES = {
    signal.SIGILL: SIGILL_REMEDY,
    signal.SIGKILL: "killed from outside, often by the kernel's out-of-memory killer: "
    "try a smaller context (ctx_size) or quant",
    signal.SIGBUS: "the model file may have changed or been truncated while mapped",
}

_SHELL_SIGNAL_BASE = 128
"""A shell (or a wrapper script) that runs a binary killed by signal N exits 128 + N."""


def exit_signal(code: int | None) -> signal.Signals | None:
    """The signal that ended a process, from its exit code: ``-N`` as Python reports it,
    or ``128 + N`` as a shell wrapper reports it; None for an ordinary exit."""
    if code is None:
        return None
    number = -code if code < 0 else code - _SHELL_SIGNAL_BASE
    if code < 0 or _SHELL_SIGNAL_BASE < code < _SHELL_SIGNAL_BASE + 65:
        try:
            return signal.Signals(number)
        except ValueError:
            return None
    return None


def describe_exit(code: int | None) -> str:
    """An exit status in words: ``killed by SIGILL (illegal instruction, exit code -4)``.

    Returns:
        ``"still running"`` for None, ``"exited with code N"`` for an ordinary exit.
    """
    if code is None:
        return "still running"
    sig = exit_signal(code)
    if sig is None:
        return f"exited with code {code}"
    meaning = signal.strsignal(sig) or sig.name
    return f"killed by {sig.name} ({meaning.lower()}, exit code {code})"


def exit_remedy(code: int | None) -> str:
    """The usual cause of an engine's exit status and its fix; empty when none is known."""
    sig = exit_signal(code)
    return _REMEDIES.get(sig, "") if sig is not None else ""


def explain_exit(what: str, code: int | None, when: str, log_lines: list[str]) -> str:
    """The message for an engine that exited: signal, remedy, then its last log lines.

    The first line says what happened and what to do; each later line is one non-empty
    line of the server's log, so one-line readers keep the essentials.

    Args:
        what: Which server (``llama-server (gemma3-270m)``).
        code: Its exit code.
        when: ``before it was ready`` or ``while serving``.
        log_lines: The last non-empty lines of its log.
    """
    head = f"{what} {describe_exit(code)} {when}"
    remedy = exit_remedy(code)
    if remedy:
        head += f": {remedy}"
    if not log_lines:
        return f"{head}; its log is empty"
    return f"{head}; last log lines:\n" + "\n".join(log_lines)
