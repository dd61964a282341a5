"""A scripted agent for the command harness: it calls the gateway and edits the workspace.

Usage: ``script_agent.py MODE CALLS``. Every call asks for at most 4 tokens and is
reported as one step line. Modes:

- ``solve``: adds a correct ``divide`` to calc.py, so the sample task's checks pass;
- ``tamper``: like solve, and also rewrites the protected test file;
- ``hang``: one call, then sleeps without calling or writing (a stuck agent);
- ``slow``: like solve, with a 2 s pause between its calls;
- ``pause``: one call, then waits until the file named by ``SCRIPT_AGENT_GATE`` is
  gone (the test kills the engine meanwhile), then the other calls, then solves;
- ``stream``: like pause, but the gate is opened after the first event of a streamed
  answer of up to ``STREAM_TOKENS`` tokens, so a kill meanwhile cuts the stream; once
  ``READ_ON`` more events came whole, the agent has seen the stream live and hangs up;
- ``orphan``: starts a daemon (double fork, a session of its own, SIGTERM ignored,
  stdout inherited) that outlives the agent, then solves;
- ``fill``: writes a file in the workspace until the disk is full, then fails.

When ``SCRIPT_AGENT_PIDS`` names a file, the agent appends ``agent PID`` to it, and the
orphan's daemon ``orphan PID``: the test checks that none of them survives its trial.
"""

import json
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

STREAM_TOKENS = 200
"""Long enough that a kill right after the first event lands mid-stream on any CPU."""

READ_ON = 24
"""Events read after the gate: more than a CPU generates while the engine is killed,
so a killed stream shows its break before the agent would hang up."""

DIVIDE = '''

def divide(a: float, b: float) -> float:
    """Return a divided by b."""
    if b == 0:
        raise ValueError("division by zero")
    return a / b
'''


def fail(message: str) -> None:
    print(json.dumps({"tool": "chat", "output": message, "is_error": True}), flush=True)
    print(message, file=sys.stderr, flush=True)
    sys.exit(3)


def request(index: int, **extra: object) -> urllib.request.Request:
    body = {
        "model": os.environ["BENCHLAB_MODEL"],
        "messages": [{"role": "user", "content": f"Say OK ({index})."}],
        "max_tokens": 4,
        **extra,
    }
    return urllib.request.Request(
        os.environ["OPENAI_BASE_URL"].rstrip("/") + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )


def call(index: int) -> None:
    try:
        with urllib.request.urlopen(request(index), timeout=120) as response:
            usage = json.load(response)["usage"]
    except Exception as exc:  # any transport or protocol failure is the agent's error
        fail(f"{type(exc).__name__}: {exc}")
    print(json.dumps({"tool": "chat", "arguments": {"i": index}, "output": json.dumps(usage)}))
    sys.stdout.flush()


def wait_for_gate() -> None:
    gate = Path(os.environ["SCRIPT_AGENT_GATE"])
    gate.write_text(str(os.getpid()))
    deadline = time.monotonic() + 60
    while gate.exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def stream_call(index: int) -> None:
    """A streamed call that opens the gate after its first event, then reads on."""
    # ignore_eos (llama-server's own field) keeps the model from ending early.
    body = request(index, stream=True, max_tokens=STREAM_TOKENS, ignore_eos=True)
    events = 0
    try:
        with urllib.request.urlopen(body, timeout=120) as response:
            for raw in response:
                line = raw.decode().strip()
                if not line.startswith("data:"):
                    continue
                data = line.removeprefix("data:").strip()
                if data == "[DONE]":
                    break
                if "error" in json.loads(data):
                    fail(f"stream error event: {data}")
                events += 1
                if events == 1:
                    wait_for_gate()
                if events > READ_ON:
                    break
            else:
                fail(f"stream ended without [DONE] after {events} events")
    except Exception as exc:
        fail(f"{type(exc).__name__}: {exc}")
    print(json.dumps({"tool": "chat", "arguments": {"i": index}, "output": f"{events} events"}))
    sys.stdout.flush()


def note_pid(kind: str) -> None:
    pids = os.environ.get("SCRIPT_AGENT_PIDS")
    if pids:
        with open(pids, "a") as handle:
            handle.write(f"{kind} {os.getpid()}\n")


def start_orphan() -> None:
    """Double fork: the daemon is reparented away and leads a session of its own."""
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            note_pid("orphan")
            print("orphan: running", flush=True)
            while True:
                time.sleep(1)
        os._exit(0)
    os.wait()


def fill() -> None:
    block = b"x" * (1 << 20)
    written = 0
    try:
        with open("junk.bin", "wb") as handle:
            while True:
                handle.write(block)
                handle.flush()
                written += len(block)
    except OSError as exc:
        fail(f"write failed after {written} bytes: {exc}")


note_pid("agent")
mode, calls = sys.argv[1], int(sys.argv[2])
if mode == "stream":
    stream_call(0)
else:
    call(0)
if mode == "hang":
    time.sleep(3600)
if mode == "pause":
    wait_for_gate()
if mode == "orphan":
    start_orphan()
if mode == "fill":
    fill()
for index in range(1, calls):
    if mode == "slow":
        time.sleep(2)
    call(index)
if mode in ("solve", "tamper", "pause", "slow", "stream", "orphan"):
    calc = Path("calc.py")
    calc.write_text(calc.read_text() + DIVIDE)
if mode == "tamper":
    Path("test_calc.py").write_text("# emptied\n")
print(f"done: {mode}")

# ``envdump``: the agent shows all it can see of its environment in each place a trial
# records: a step line on stdout (the transcript), a file in the workspace (the diff), a
# model call (the trace); then it makes one more call and prints the whole answer body,
# whatever its status, as agents do with an upstream's error message.
if mode == "envdump":
    seen = json.dumps(dict(sorted(os.environ.items())))
    print(json.dumps({"tool": "env", "output": seen}), flush=True)
    Path("agent_env.json").write_text(seen + "\n")
    for content in (f"My environment: {seen}", "Say OK (echo)."):
        dump = urllib.request.Request(
            os.environ["OPENAI_BASE_URL"].rstrip("/") + "/chat/completions",
            data=json.dumps({
                "model": os.environ["BENCHLAB_MODEL"],
                "messages": [{"role": "user", "content": content}],
                "max_tokens": 4,
            }).encode(),
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(dump, timeout=120) as response:
                answer = response.read().decode(errors="replace")
        except urllib.request.HTTPError as exc:
            answer = exc.read().decode(errors="replace")
        print(json.dumps({"tool": "chat", "output": answer}), flush=True)
