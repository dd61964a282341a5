"""A tiny inventory: item names and the quantity in stock."""


class Inventory:
    """Quantities in stock, by item name."""

    def __init__(self) -> None:
        self._items: dict[str, int] = {}

    def add(self, name: str, quantity: int = 1) -> None:
        """Put ``quantity`` more of ``name`` in stock."""
        if quantity < 1:
            raise ValueError("quantity must be at least 1")
        self._items[name] = self._items.get(name, 0) + quantity

    def remove(self, name: str, quantity: int = 1) -> None:
        """Take ``quantity`` of ``name`` out of stock."""
        if quantity > self._items.get(name, 0):
            raise ValueError(f"not enough {name} in stock")
        self._items[name] -= quantity

    def count(self, name: str) -> int:
        """How many of ``name`` are in stock."""
        return self._items.get(name, 0)
