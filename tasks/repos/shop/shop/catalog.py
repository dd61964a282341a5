"""The product catalog: names and prices in cents, kept in memory."""

PRODUCTS: dict[str, int] = {"apple": 50, "bread": 250, "cheese": 700}


def price(name: str) -> int:
    """The price of ``name`` in cents; KeyError if it is not sold."""
    return PRODUCTS[name]
