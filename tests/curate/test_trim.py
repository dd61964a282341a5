"""The trimming rule: head and tail within the budget, whole lines, a marker between."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from benchlab.curate.trim import trim


def numbered(n: int) -> str:
    return "".join(f"line {i:04d}\n" for i in range(n))  # 10 characters a line


def test_short_text_is_kept_as_it_is() -> None:
    text = numbered(5)
    trimmed = trim(text, len(text))
    assert trimmed.text == text
    assert not trimmed.truncated and trimmed.cut_lines == 0 and trimmed.cut_chars == 0


def test_long_text_keeps_head_and_tail_with_a_marker() -> None:
    text = numbered(100)  # 100 lines of 10 characters ("line 0000\n")
    trimmed = trim(text, 95)
    lines = trimmed.text.splitlines()
    # Half the budget (47) holds 4 head lines; the tail gets the remaining 55: 5 lines.
    assert lines[:4] == ["line 0000", "line 0001", "line 0002", "line 0003"]
    assert lines[4] == "[... 91 lines, 910 characters cut ...]"
    assert lines[5:] == [f"line {i:04d}" for i in range(95, 100)]
    assert (trimmed.cut_lines, trimmed.cut_chars) == (91, 910)
    assert trimmed.truncated


def test_a_line_longer_than_the_budget_is_cut_whole() -> None:
    text = "short\n" + "x" * 500 + "\nend\n"
    trimmed = trim(text, 100)
    assert trimmed.text == "short\n[... 1 lines, 501 characters cut ...]\nend\n"


@given(
    st.lists(st.text(alphabet="abc \t", max_size=40), min_size=1, max_size=60),
    st.integers(min_value=1, max_value=400),
)
def test_never_cuts_inside_a_line(raw: list[str], budget: int) -> None:
    text = "\n".join(raw) + "\n"
    trimmed = trim(text, budget)
    original = text.splitlines(keepends=True)
    kept = [line for line in trimmed.text.splitlines(keepends=True) if not line.startswith("[...")]
    if not trimmed.truncated:
        assert trimmed.text == text
        return
    # The kept lines are a prefix and a suffix of the original lines, whole.
    head = 0
    while head < len(kept) and head < len(original) and kept[head] == original[head]:
        head += 1
    tail = kept[head:]
    assert tail == (original[len(original) - len(tail) :] if tail else [])
    assert sum(map(len, kept)) <= budget
    assert trimmed.cut_chars == len(text) - sum(map(len, kept))
    assert trimmed.cut_lines == len(original) - len(kept)
