"""The product and open-sale value types every stage shares.

One ``Product`` is used for the till's catalogue (``TillReader.read_products``), for upgrade
mining, for the product snapshot kept with each rule set in possuggest's own database, and
for the engine's live stock and prices. ``OpenSale`` is the register's sale being rung up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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
    barcode: str = ""            # the code a scanner reads, when it differs from the SKU

    @classmethod
    def from_row(cls, sku: Any, name: Any, category: Any, family: Any, price: Any, cost: Any,
                 stock: Any, active: Any, barcode: Any = None) -> Product:
        """A product from a database row (the till's products query or a rule set's snapshot),
        columns in field order: NULL name is the sku, NULL text is empty, NULL price is 0,
        NULL active is active. Numbers may come as text or ``Decimal`` (server drivers)."""
        return cls(sku=str(sku), name=str(name if name is not None else sku),
                   category=str(category or ""), family=str(family or ""),
                   price=float(price or 0.0), cost=None if cost is None else float(cost),
                   stock=None if stock is None else int(float(stock)),
                   active=bool(1 if active is None else int(active)),
                   barcode="" if barcode is None else str(barcode).strip())

    def to_row(self) -> tuple[str, str, str, str, float, float | None, int | None, int]:
        """The columns :meth:`from_row` reads, in the same order (``active`` as 0/1); the
        barcode is not among them (a rule set's snapshot keeps no barcodes)."""
        return (self.sku, self.name, self.category, self.family, self.price, self.cost,
                self.stock, int(self.active))


def product_lookup(products: Mapping[str, Product]) -> dict[str, str]:
    """What a scan box or a basket may send, folded to lower case, → the SKU: each SKU, each
    barcode and each product name. A SKU wins over another product's barcode or name, a
    barcode over a name."""
    lookup: dict[str, str] = {}
    for sku in products:
        lookup.setdefault(sku.casefold(), sku)
    for sku, prod in products.items():
        if prod.barcode:
            lookup.setdefault(prod.barcode.casefold(), sku)
    for sku, prod in products.items():
        lookup.setdefault(prod.name.casefold(), sku)
    return lookup


@dataclass(frozen=True)
class OpenSale:
    """The open sale of one register as the till has it."""

    sale_id: str | None          # None when the register has no open sale
    lines: tuple[tuple[str, float], ...]   # (sku, qty) in ring-up order

    @property
    def skus(self) -> list[str]:
        return [sku for sku, _ in self.lines]




# -- compatibility: a fitting or platform variant is neither an upgrade nor a substitute's
#    better version ("LED Candle Bulb E14" vs "LED Spotlight GU10", an 18V vs a 36V battery)
_FITTING = re.compile(r"^(e\d{2}|b\d{2}|gu\d{1,2}(\.\d)?|g\d{1,2}|mr\d{2}|r\d{2}|bc|es|ses)$")
_VOLTAGE = re.compile(r"^\d+(\.\d+)?v$")


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[\s,/()]+", name.lower()) if t]


def fitting_tokens(name: str) -> dict[str, frozenset[str]]:
    """The tokens of a name that say what it fits: lamp fittings and battery voltages."""
    out: dict[str, set[str]] = {}
    for tok in _tokens(name):
        if _FITTING.match(tok):
            out.setdefault("fitting", set()).add(tok)
        elif _VOLTAGE.match(tok):
            out.setdefault("voltage", set()).add(tok)
    return {k: frozenset(v) for k, v in out.items()}


def _plain_words(name: str) -> frozenset[str]:
    return frozenset(w for w in name.lower().replace("-", " ").split()
                     if not any(ch.isdigit() for ch in w))


def size_variant(a: str, b: str) -> bool:
    """Names that differ only in sizes, codes or counts ("Wood Screws 3.0x16mm" / "Wood
    Screws 5.0x70mm", "Mower Blade 41cm" / "Mower Blade 46cm") are variants, not tiers."""
    wa, wb = _plain_words(a), _plain_words(b)
    return bool(wa) and wa == wb


def compatible(a: str, b: str) -> bool:
    """Could ``b`` replace ``a`` for the same job? Not when both name a lamp fitting or a
    battery voltage and those differ, and not when the two differ only in size."""
    if size_variant(a, b):
        return False
    fa, fb = fitting_tokens(a), fitting_tokens(b)
    return all(fa[k] == fb[k] for k in fa.keys() & fb.keys())


__all__ = ["Product", "OpenSale", "compatible", "fitting_tokens", "product_lookup",
           "size_variant"]
