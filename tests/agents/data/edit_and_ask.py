"""A stand-in agent for the command harness.

It edits calc.py, asks the model behind ``OPENAI_BASE_URL`` twice (plain HTTP), writes
an untracked file, and reports each call as a step line whose output is the usage the
server returned. Arguments: ``--workspace DIR --echo TEXT``.
"""

import argparse
import json
import os
import urllib.request
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--workspace", type=Path, required=True)
parser.add_argument("--echo", required=True)
args = parser.parse_args()

prompt = Path(os.environ["BENCHLAB_PROMPT_FILE"]).read_text()
calc = args.workspace / "calc.py"
calc.write_text(calc.read_text() + "\n\n# touched by the command agent\n")
for index in range(2):
    body = {
        "model": os.environ["BENCHLAB_MODEL"],
        "messages": [{"role": "user", "content": f"{prompt}\nSay OK ({index})."}],
        "max_tokens": 8,
    }
    request = urllib.request.Request(
        os.environ["OPENAI_BASE_URL"].rstrip("/") + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {os.environ['OPENAI_API_KEY']}",
        },
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        usage = json.load(response)["usage"]
    step = {"tool": "chat", "arguments": {"index": index}, "output": json.dumps(usage)}
    print(json.dumps({**step, "is_error": False}), flush=True)
(args.workspace / "NOTES.md").write_text("notes from the command agent\n")
print(f"done: {args.echo}")
