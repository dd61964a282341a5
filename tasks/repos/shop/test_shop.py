"""Tests of the shop; run with ``python3 -m unittest``."""

import tempfile
import unittest
from pathlib import Path

from shop import api
from shop.cart import Cart


class ShopTest(unittest.TestCase):
    def test_cart_total(self) -> None:
        cart = Cart()
        cart.add("apple", 2)
        cart.add("bread")
        self.assertEqual(cart.total(), 350)

    def test_unknown_product(self) -> None:
        with self.assertRaises(KeyError):
            Cart().add("caviar")

    def test_add_then_checkout(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "cart.json"
            api.add_to_cart("cheese", 1, path)
            self.assertEqual(api.show_cart(path)["total"], 700)
            self.assertEqual(api.checkout(path), {"paid": 700})
            self.assertEqual(api.show_cart(path)["items"], {})


if __name__ == "__main__":
    unittest.main()
