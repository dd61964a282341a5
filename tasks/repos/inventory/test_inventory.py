"""Tests of inventory; run with ``python3 -m unittest``."""

import unittest

from inventory import Inventory


class InventoryTest(unittest.TestCase):
    def test_add_and_count(self) -> None:
        stock = Inventory()
        stock.add("apple", 3)
        stock.add("apple")
        self.assertEqual(stock.count("apple"), 4)

    def test_remove(self) -> None:
        stock = Inventory()
        stock.add("pear", 2)
        stock.remove("pear")
        self.assertEqual(stock.count("pear"), 1)

    def test_remove_too_many(self) -> None:
        stock = Inventory()
        with self.assertRaises(ValueError):
            stock.remove("plum")

    def test_unknown_item_counts_zero(self) -> None:
        self.assertEqual(Inventory().count("kiwi"), 0)


if __name__ == "__main__":
    unittest.main()
