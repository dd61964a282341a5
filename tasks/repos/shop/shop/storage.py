"""Keeps the cart in a JSON file between runs."""

import json
from pathlib import Path

from shop.cart import Cart

CART_FILE = Path("cart.json")


def load(path: Path = CART_FILE) -> Cart:
    """The saved cart, or an empty one."""
    if not path.exists():
        return Cart()
    return Cart(json.loads(path.read_text()))


def save(cart: Cart, path: Path = CART_FILE) -> None:
    """Write the cart to the JSON file, replacing what was there."""
    path.write_text(json.dumps(cart.items))
