"""Chat templates benchlab ships for models whose GGUF has none (or none with tools)."""

from __future__ import annotations

from pathlib import Path

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

TOOLS_TEMPLATE = TEMPLATES_DIR / "gemma-tools.jinja"
"""Gemma turn markers with Hermes-style ``<tool_call>`` JSON tool calls.

llama.cpp's template analyser classifies it as ``JSON_NATIVE`` with ``<tool_call>``
per-call markers, so the server parses the model's calls into OpenAI ``tool_calls``
(streamed as deltas) and can constrain output with a grammar for ``tool_choice``.
"""


def template_path(name: str) -> Path:
    """The path of a shipped template, by file name with or without ``.jinja``.

    Raises:
        FileNotFoundError: When no such template is shipped.
    """
    path = TEMPLATES_DIR / (name if name.endswith(".jinja") else f"{name}.jinja")
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in TEMPLATES_DIR.glob("*.jinja")))
        raise FileNotFoundError(f"no shipped chat template {name!r}; shipped: {known}")
    return path
