"""Tests of calc; run with ``python3 -m unittest``."""

import unittest

import calc


class CalcTest(unittest.TestCase):
    def test_add(self) -> None:
        self.assertEqual(calc.add(2, 3), 5)

    def test_subtract(self) -> None:
        self.assertEqual(calc.subtract(2, 3), -1)

    def test_multiply(self) -> None:
        self.assertEqual(calc.multiply(4, 2.5), 10)


if __name__ == "__main__":
    unittest.main()
