"""Configuration names: ``model[:quant][@cell][+harness]``."""

from __future__ import annotations

import pytest

from benchlab.errors import UsageError
from benchlab.report.configs import Config, parse_selector, resolve

KNOWN = [
    Config("qwen", "Q8_0", "aaaa00000001", "pi"),
    Config("qwen", "Q4_K_M", "bbbb00000001", "pi"),
    Config("qwen", "Q4_K_M", "bbbb00000002", "pi"),
    Config("gpt-mini", "", "", "pi"),
]


def test_labels_leave_out_empty_parts() -> None:
    assert KNOWN[0].label == "qwen:Q8_0@aaaa00000001+pi"
    assert KNOWN[3].label == "gpt-mini+pi"


def test_parse_gives_each_part() -> None:
    selector = parse_selector("qwen:Q4_K_M@bbbb+pi")
    assert (selector.model, selector.quant, selector.cell, selector.harness) == (
        "qwen",
        "Q4_K_M",
        "bbbb",
        "pi",
    )
    assert parse_selector("gpt-mini").quant is None
    with pytest.raises(UsageError, match="not of the form"):
        parse_selector("a::b")


def test_resolve_by_parts_and_cell_prefix() -> None:
    assert resolve("gpt-mini", KNOWN) == KNOWN[3]
    assert resolve("qwen:Q8_0", KNOWN) == KNOWN[0]
    assert resolve("qwen@bbbb00000002", KNOWN) == KNOWN[2]
    assert resolve(KNOWN[1].label, KNOWN) == KNOWN[1]


def test_ambiguous_and_unknown_names_are_one_line_errors() -> None:
    with pytest.raises(UsageError, match="ambiguous") as ambiguous:
        resolve("qwen:Q4_K_M", KNOWN)
    assert "bbbb00000001" in str(ambiguous.value) and "bbbb00000002" in str(ambiguous.value)
    with pytest.raises(UsageError) as unknown:
        resolve("llama", KNOWN)
    message = str(unknown.value)
    assert message.startswith("unknown configuration 'llama'; valid: ")
    assert all(c.label in message for c in KNOWN) and "\n" not in message
