"""The shopping cart: quantities by product name."""

from shop.catalog import price


class Cart:
    """One customer's cart (there is only one customer so far)."""

    def __init__(self, items: dict[str, int] | None = None) -> None:
        self.items: dict[str, int] = dict(items or {})

    def add(self, name: str, quantity: int = 1) -> None:
        """Add ``quantity`` of a catalog product."""
        price(name)  # unknown products raise KeyError
        self.items[name] = self.items.get(name, 0) + quantity

    def remove(self, name: str) -> None:
        """Remove a product entirely."""
        self.items.pop(name, None)

    def total(self) -> int:
        """The cart's total in cents."""
        return sum(price(name) * qty for name, qty in self.items.items())
