"""A scripted agent for the command harness: it calls the gateway and edits the workspace.

Usage: ``script_agent.py MODE CALLS``. Every call asks for at most 4 tokens and is
reported as one step line. Modes:

- ``solve``: adds a correct ``divide`` to calc.py, so the sample task's checks pass;
- ``tamper``: like solve, and also rewrites the protected test file;
- ``hang``: one call, then sleeps without calling or writing (a stuck agent);
- ``slow``: like solve, with a 2 s pause between its calls;
- ``pause``: one call, then waits until the file named by ``SCRIPT_AGENT_GATE`` is
  gone (the test kills the engine meanwhile), then the other calls, then solves.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

DIVIDE = '''

def divide(a: float, b: float) -> float:
    """Return a divided by b."""
    if b == 0:
        raise ValueError("division by zero")
    return a / b
'''


def call(index: int) -> None:
    body = {
        "model": os.environ["BENCHLAB_MODEL"],
        "messages": [{"role": "user", "content": f"Say OK ({index})."}],
        "max_tokens": 4,
    }
    request = urllib.request.Request(
        os.environ["OPENAI_BASE_URL"].rstrip("/") + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            usage = json.load(response)["usage"]
    except (urllib.error.URLError, OSError) as exc:
        print(json.dumps({"tool": "chat", "output": str(exc), "is_error": True}), flush=True)
        sys.exit(3)
    print(json.dumps({"tool": "chat", "arguments": {"i": index}, "output": json.dumps(usage)}))
    sys.stdout.flush()


mode, calls = sys.argv[1], int(sys.argv[2])
call(0)
if mode == "hang":
    time.sleep(3600)
if mode == "pause":
    gate = Path(os.environ["SCRIPT_AGENT_GATE"])
    gate.write_text(str(os.getpid()))
    deadline = time.monotonic() + 60
    while gate.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
for index in range(1, calls):
    if mode == "slow":
        time.sleep(2)
    call(index)
if mode in ("solve", "tamper", "pause", "slow"):
    calc = Path("calc.py")
    calc.write_text(calc.read_text() + DIVIDE)
if mode == "tamper":
    Path("test_calc.py").write_text("# emptied\n")
print(f"done: {mode}")
