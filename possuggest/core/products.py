"""The product and open-sale value types every stage shares.

One ``Product`` is used for the till's catalogue (``TillReader.read_products``), for upgrade
mining, for the product snapshot kept with each rule set in possuggest's own database, and
for the engine's live stock and prices. ``OpenSale`` is the register's sale being rung up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Product:
    """One catalogue line. ``cost`` and ``stock`` are None when the till does not know them."""

    sku: str
    name: str
    category: str = ""
    family: str = ""             # good/better/best tiers of one product share a family
    price: float = 0.0
    cost: float | None = None
    stock: int | None = None
    active: bool = True

    @classmethod
    def from_row(cls, sku: Any, name: Any, category: Any, family: Any, price: Any, cost: Any,
                 stock: Any, active: Any) -> Product:
        """A product from a database row (the till's products query or a rule set's snapshot),
        columns in field order: NULL name is the sku, NULL text is empty, NULL price is 0,
        NULL active is active."""
        return cls(sku=str(sku), name=str(name if name is not None else sku),
                   category=str(category or ""), family=str(family or ""),
                   price=float(price or 0.0), cost=None if cost is None else float(cost),
                   stock=None if stock is None else int(stock),
                   active=bool(1 if active is None else active))

    def to_row(self) -> tuple[str, str, str, str, float, float | None, int | None, int]:
        """The columns :meth:`from_row` reads, in the same order (``active`` as 0/1)."""
        return (self.sku, self.name, self.category, self.family, self.price, self.cost,
                self.stock, int(self.active))


@dataclass(frozen=True)
class OpenSale:
    """The open sale of one register as the till has it."""

    sale_id: str | None          # None when the register has no open sale
    lines: tuple[tuple[str, float], ...]   # (sku, qty) in ring-up order

    @property
    def skus(self) -> list[str]:
        return [sku for sku, _ in self.lines]


__all__ = ["Product", "OpenSale"]
