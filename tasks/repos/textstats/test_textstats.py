"""Tests of textstats; run with ``python3 -m unittest``."""

import unittest

import textstats


class TextStatsTest(unittest.TestCase):
    def test_word_count(self) -> None:
        self.assertEqual(textstats.word_count("one two three"), 3)

    def test_word_count_ignores_extra_whitespace(self) -> None:
        self.assertEqual(textstats.word_count("  one   two\nthree "), 3)

    def test_average_word_length(self) -> None:
        self.assertEqual(textstats.average_word_length("ab abcd"), 3.0)

    def test_average_word_length_of_empty_text(self) -> None:
        self.assertEqual(textstats.average_word_length(""), 0.0)

    def test_longest_word(self) -> None:
        self.assertEqual(textstats.longest_word("a bbb cc ddd"), "bbb")


if __name__ == "__main__":
    unittest.main()
