"""Trimming long text for dataset records: the head and the tail, whole lines only.

The rule: a text of at most ``max_chars`` characters is kept as it is. A longer one
keeps whole lines from its start while they fit in ``head_share`` of the budget, then
whole lines from its end while they fit in what the head left, and between the two a
marker line ``[... N lines, M characters cut ...]``. The kept lines add up to at most
``max_chars`` characters (the marker line comes on top); a cut never falls inside a
line, so a single line longer than the budget is cut whole. Beginnings (what was asked,
the first files of a diff) and endings (the final state, the last error) say most.

The full text is never lost: the trial's run keeps it as an artifact (``result.json``,
``diff.patch``), and a record says when a field was trimmed.
"""

from __future__ import annotations

from dataclasses import dataclass

MARKER = "[... {lines} lines, {chars} characters cut ...]\n"
"""The line that stands where text was cut."""


@dataclass(frozen=True)
class Trimmed:
    """A text after trimming, and what was cut from it."""

    text: str
    cut_lines: int = 0
    cut_chars: int = 0

    @property
    def truncated(self) -> bool:
        """Whether anything was cut."""
        return self.cut_lines > 0


def trim(text: str, max_chars: int, head_share: float = 0.5) -> Trimmed:
    """Keep the head and the tail of ``text`` within ``max_chars``, cutting between lines.

    Args:
        text: The text to trim.
        max_chars: The most characters of the original text to keep.
        head_share: The share of the budget offered to the head first (0-1); the tail
            gets what the head did not use.

    Returns:
        The trimmed text with the marker line where lines were cut.
    """
    if len(text) <= max_chars:
        return Trimmed(text)
    lines = text.splitlines(keepends=True)
    head_end, used = 0, 0
    head_budget = int(max_chars * head_share)
    while head_end < len(lines) and used + len(lines[head_end]) <= head_budget:
        used += len(lines[head_end])
        head_end += 1
    tail_start = len(lines)
    while tail_start > head_end and used + len(lines[tail_start - 1]) <= max_chars:
        used += len(lines[tail_start - 1])
        tail_start -= 1
    cut = lines[head_end:tail_start]
    cut_chars = sum(len(line) for line in cut)
    marker = MARKER.format(lines=len(cut), chars=cut_chars)
    kept = "".join(lines[:head_end]) + marker + "".join(lines[tail_start:])
    return Trimmed(kept, cut_lines=len(cut), cut_chars=cut_chars)
