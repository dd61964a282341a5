"""Request handlers: each takes plain arguments and returns a JSON-ready dict."""

from pathlib import Path

from shop import storage
from shop.catalog import PRODUCTS


def list_products() -> dict[str, object]:
    """GET /products"""
    return {"products": [{"name": n, "price": p} for n, p in PRODUCTS.items()]}


def show_cart(path: Path = storage.CART_FILE) -> dict[str, object]:
    """GET /cart"""
    cart = storage.load(path)
    return {"items": cart.items, "total": cart.total()}


def add_to_cart(name: str, quantity: int, path: Path = storage.CART_FILE) -> dict[str, object]:
    """POST /cart"""
    cart = storage.load(path)
    cart.add(name, quantity)
    storage.save(cart, path)
    return {"items": cart.items, "total": cart.total()}


def checkout(path: Path = storage.CART_FILE) -> dict[str, object]:
    """POST /checkout: empties the cart and returns what was paid."""
    cart = storage.load(path)
    paid = cart.total()
    storage.save(type(cart)(), path)
    return {"paid": paid}
