"""One fake store, written in the real table layout of every till preset (and the reference
schema), for SQLite here and for PostgreSQL / MariaDB in the server tests.

The store: 15 products (two variant families, a weighed item, an inactive one), about 360
sales from May to August 2026 in two stores (Main: registers 1 and 2, Annex: register 3),
with refunds, voided sales, voided lines, a few lines each till writes its own way (a free
text line, a quote, a back-office invoice, a held draft) and one open sale on register 1.
Each layout writes what that till would write: uniCenta never stores a voided sale, Odoo
keeps times in UTC, Dolibarr's credit note is an invoice of type 2, and so on. Read through
its preset, every layout must give the same baskets (:func:`expected_baskets`).

For a server: ``data = fixture_data("odoo", "postgresql")`` gives ``data.ddl`` (CREATE
statements) and ``data.tables`` ({table: (columns, rows)}, rows of Python values: datetime,
date, time, Decimal, bool; JSON as text) and ``data.insert_sql(table)`` (named parameters
:c0, :c1, ... for SQLAlchemy ``text``). ``data.settings`` is the ``[till]`` section that reads
it (preset, timezone) and ``data.annex`` the ``till.store`` value selecting the Annex store
(None when the preset has no store filter). ``build_sqlite(name, path)`` writes a file.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
import uuid
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

LAYOUTS = ("reference", "unicenta", "ospos", "odoo", "dolibarr", "erpnext")
#: the dialects each layout's fixture can be written for (the till's own, and SQLite)
DIALECTS = {"reference": ("sqlite", "postgresql", "mysql"),
            "unicenta": ("sqlite", "mysql", "postgresql"),
            "ospos": ("sqlite", "mysql"),
            "odoo": ("sqlite", "postgresql"),
            "dolibarr": ("sqlite", "mysql", "postgresql"),
            "erpnext": ("sqlite", "mysql")}
STORE_TZ = "Europe/Berlin"
TAX_RATE = 0.2                   # uniCenta keeps prices net of this


# -- the fake store ------------------------------------------------------------------------------
@dataclass(frozen=True)
class FakeProduct:
    n: int                       # 1-based: integer ids in tills that use them
    sku: str                     # the reference SKU (also uniCenta reference, Dolibarr ref,
                                 # ERPNext item_code)
    base: str                    # the template's name (variants) or the name
    variant: str                 # the attribute value, "" for a plain product
    category: str
    price: float                 # what the customer pays, tax included
    cost: float
    stock: float
    barcode: str
    weighed: bool = False
    active: bool = True

    @property
    def name(self) -> str:
        return f"{self.base} ({self.variant})" if self.variant else self.base


def _ean(n: int) -> str:
    body = f"400{n:09d}"
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body))
    return body + str((10 - total % 10) % 10)


PRODUCTS: tuple[FakeProduct, ...] = tuple(
    FakeProduct(i + 1, sku, base, variant, cat, price, cost, stock, _ean(i + 1), weighed, active)
    for i, (sku, base, variant, cat, price, cost, stock, weighed, active) in enumerate([
        ("MOW-STD", "Lawn Mower Standard", "", "Garden Power", 249.0, 160.0, 12, False, True),
        ("MOW-DLX", "Lawn Mower Deluxe", "", "Garden Power", 369.0, 230.0, 5, False, True),
        ("GRASS-CATCH", "Grass Catcher", "", "Garden Power", 39.0, 18.0, 20, False, True),
        ("OIL-4T", "Engine Oil 4T", "", "Garden Power", 12.0, 5.0, 40, False, True),
        ("SPARK", "Spark Plug", "", "Garden Power", 6.0, 2.0, 0, False, True),
        ("DRILL-18V", "Cordless Drill 18V", "", "Power Tools", 99.0, 60.0, 8, False, True),
        ("BITS", "Drill Bit Set", "", "Power Tools", 19.0, 7.0, 30, False, True),
        ("BATT-18V", "Spare Battery 18V", "", "Power Tools", 49.0, 30.0, 10, False, True),
        ("GLOVES-M", "Work Gloves", "M", "Garden Care", 8.0, 3.0, 60, False, True),
        ("GLOVES-L", "Work Gloves", "L", "Garden Care", 8.0, 3.0, 40, False, True),
        ("SOIL-10", "Potting Soil", "10 L", "Garden Care", 6.5, 3.0, 50, False, True),
        ("SOIL-40", "Potting Soil", "40 L", "Garden Care", 14.5, 7.0, 30, False, True),
        ("SEED-KG", "Bird Seed per kg", "", "Garden Care", 4.5, 2.0, 80, True, True),
        ("TAPE", "Duct Tape", "", "Hardware", 5.0, 2.0, 100, False, True),
        ("OLD", "Discontinued Rake", "", "Garden Care", 15.0, 6.0, 5, False, False),
    ]))
BY_SKU = {p.sku: p for p in PRODUCTS}
#: variant families: template name -> its variants' SKUs
FAMILIES = {"Work Gloves": ("GLOVES-M", "GLOVES-L"), "Potting Soil": ("SOIL-10", "SOIL-40")}


@dataclass(frozen=True)
class FakeLine:
    sku: str
    qty: float
    price: float
    voided: bool = False         # scanned by mistake and voided at once


@dataclass(frozen=True)
class FakeSale:
    n: int                       # 1-based, in time order
    when: dt.datetime            # the store's local time, naive
    store: str                   # "Main" | "Annex"
    register: str                # "1", "2" (Main), "3" (Annex)
    kind: str                    # "sale" | "refund" | "void" | "open"
    lines: tuple[FakeLine, ...]
    refund_of: int | None = None

    @property
    def utc(self) -> dt.datetime:
        aware = self.when.replace(tzinfo=zoneinfo.ZoneInfo(STORE_TZ))
        return aware.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _pattern(k: int, rng: random.Random) -> list[tuple[str, float]]:
    """One basket with clear relations (mower → catcher/oil, drill → bits, soil → gloves)."""
    if k < 5:
        b = [("MOW-STD", 1), ("GRASS-CATCH", 1)] + ([("OIL-4T", 2)] if k < 3 else [])
    elif k == 5:
        b = [("MOW-DLX", 1), ("GRASS-CATCH", 1), ("OIL-4T", 1)]
    elif k == 6:
        b = [("MOW-STD", 1), ("SPARK", 1), ("OIL-4T", 1)]
    elif k < 10:
        b = [("DRILL-18V", 1), ("BITS", 1)] + ([("BATT-18V", 1)] if k < 9 else [])
    elif k < 13:
        b = [(rng.choice(["SOIL-10", "SOIL-40"]), rng.choice([1, 2])),
             (rng.choice(["GLOVES-M", "GLOVES-L"]), 1)]
    elif k < 15:
        b = [("SEED-KG", round(rng.uniform(0.25, 2.5), 3)), ("SOIL-10", 1)]
    elif k == 15:
        b = [("TAPE", 1), ("GLOVES-L", 1)]
    elif k == 16:
        b = [("TAPE", 3)]
    elif k == 17:
        b = [("OLD", 1), ("GLOVES-M", 1)]
    else:
        b = [("SEED-KG", round(rng.uniform(0.5, 4.0), 3))]
    return [(s, float(q)) for s, q in b]


def _make_store(n_sales: int = 360, seed: int = 11) -> tuple[FakeSale, ...]:
    rng = random.Random(seed)
    start = dt.datetime(2026, 5, 2, 8, 0)
    sales: list[FakeSale] = []
    day_start = 0
    for i in range(n_sales):
        day = (i * 115) // n_sales                    # May 2 .. Aug 24 (summer time throughout)
        if i == 0 or day != (i - 1) * 115 // n_sales:
            day_start = i
        # in time order, as sale ids are: 08:00, then about every 2.5 hours
        when = start + dt.timedelta(days=day, minutes=157 * (i - day_start) + (i * 13) % 40,
                                    seconds=i % 60)
        annex = i % 4 == 3
        store, register = ("Annex", "3") if annex else ("Main", str(1 + i % 2))
        n = len(sales) + 1
        if i % 37 == 20 and sales:                     # a refund of an earlier sale's item
            orig = next(s for s in reversed(sales) if s.kind == "sale")
            line = orig.lines[0]
            sales.append(FakeSale(n, when, store, register, "refund",
                                  (FakeLine(line.sku, -abs(line.qty), line.price),),
                                  refund_of=orig.n))
            continue
        basket = _pattern(i % 20, rng)
        lines = [FakeLine(s, q, BY_SKU[s].price) for s, q in basket]
        if i % 29 == 5:                                # a mis-scan voided at once
            lines.insert(1, FakeLine("BITS", 1, BY_SKU["BITS"].price, voided=True))
        kind = "void" if i % 45 == 30 else "sale"
        sales.append(FakeSale(n, when, store, register, kind, tuple(lines)))
    last = sales[-1].when + dt.timedelta(minutes=20)
    sales.append(FakeSale(len(sales) + 1, last, "Main", "1", "open",
                          (FakeLine("MOW-STD", 1, 249.0), FakeLine("OIL-4T", 1, 12.0))))
    return tuple(sales)


SALES: tuple[FakeSale, ...] = _make_store()
OPEN_SALE = SALES[-1]


def mined_lines(sale: FakeSale) -> list[FakeLine]:
    return [ln for ln in sale.lines if not ln.voided and ln.qty > 0]


def expected_baskets(store: str | None = None) -> list[frozenset[str]]:
    """The baskets every preset must read, as product names, in time order: closed sales
    (no refunds, no voided sales or lines), optionally of one store only."""
    out = []
    for s in SALES:
        if s.kind == "sale" and (store is None or s.store == store):
            out.append(frozenset(BY_SKU[ln.sku].name for ln in mined_lines(s)))
    return out


# -- writing a layout ----------------------------------------------------------------------------
_TYPES = {
    "str": ("TEXT", "VARCHAR(255)", "VARCHAR(255)"),
    "text": ("TEXT", "TEXT", "TEXT"),
    "int": ("INTEGER", "INTEGER", "INT"),
    "float": ("REAL", "DOUBLE PRECISION", "DOUBLE"),
    "decimal": ("REAL", "NUMERIC(15,3)", "DECIMAL(15,3)"),
    "datetime": ("TEXT", "TIMESTAMP", "DATETIME"),
    "date": ("TEXT", "DATE", "DATE"),
    "time": ("TEXT", "TIME", "TIME(6)"),
    "bool": ("INTEGER", "BOOLEAN", "TINYINT(1)"),
    "json": ("TEXT", "JSONB", "JSON"),
}
_DIALECT_INDEX = {"sqlite": 0, "postgresql": 1, "mysql": 2}


def quote(name: str, dialect: str) -> str:
    if " " not in name and name == name.lower():
        return name
    return f"`{name}`" if dialect == "mysql" else f'"{name}"'


@dataclass
class _Table:
    name: str
    columns: list[tuple[str, str]]                 # (column, type key)
    key: tuple[str, ...] = ()
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def ddl(self, dialect: str) -> str:
        i = _DIALECT_INDEX[dialect]
        cols = [f"{quote(c, dialect)} {_TYPES[t][i]}" for c, t in self.columns]
        if self.key:
            cols.append(f"PRIMARY KEY ({', '.join(quote(c, dialect) for c in self.key)})")
        return f"CREATE TABLE {quote(self.name, dialect)} (\n  " + ",\n  ".join(cols) + "\n)"

    def add(self, *values: Any) -> None:
        assert len(values) == len(self.columns), (self.name, values)
        self.rows.append(tuple(values))


@dataclass
class FixtureData:
    layout: str
    dialect: str
    ddl: list[str]
    tables: dict[str, tuple[list[str], list[tuple[Any, ...]]]]
    settings: dict[str, str]                        # the [till] section that reads it
    annex: str | None                               # till.store selecting the Annex

    def insert_sql(self, table: str) -> str:
        """``INSERT`` with named parameters :c0, :c1, ... (SQLAlchemy ``text``)."""
        cols = self.tables[table][0]
        names = ", ".join(quote(c, self.dialect) for c in cols)
        marks = ", ".join(f":c{i}" for i in range(len(cols)))
        return f"INSERT INTO {quote(table, self.dialect)} ({names}) VALUES ({marks})"

    def named_rows(self, table: str) -> list[dict[str, Any]]:
        return [{f"c{i}": v for i, v in enumerate(row)} for row in self.tables[table][1]]


def _ts(s: FakeSale) -> dt.datetime:
    return s.when


def _mined_or_written(sale: FakeSale) -> list[FakeLine]:
    """The lines a till keeps: everything but the voided mis-scans (tills delete them)."""
    return [ln for ln in sale.lines if not ln.voided]


def _reference() -> tuple[list[_Table], dict[str, str], str | None]:
    products = _Table("products", [("sku", "str"), ("name", "str"), ("category", "str"),
                                   ("family", "str"), ("price", "float"), ("cost", "float"),
                                   ("stock", "int"), ("active", "int"), ("barcode", "str")],
                      key=("sku",))
    for p in PRODUCTS:
        products.add(p.sku, p.name, p.category, "", p.price, p.cost, int(p.stock),
                     int(p.active), p.barcode)
    sales = _Table("sales", [("sale_id", "int"), ("register_id", "str"), ("cashier_id", "str"),
                             ("customer_id", "str"), ("opened_at", "datetime"),
                             ("closed_at", "datetime"), ("status", "str")], key=("sale_id",))
    lines = _Table("sale_lines", [("line_id", "int"), ("sale_id", "int"), ("sku", "str"),
                                  ("qty", "float"), ("unit_price", "float"),
                                  ("voided", "int")], key=("line_id",))
    line_id = 0
    for s in SALES:
        status = {"sale": "closed", "refund": "closed", "void": "void", "open": "open"}[s.kind]
        sales.add(s.n, s.register, "C01", None, s.when - dt.timedelta(minutes=2),
                  None if s.kind == "open" else s.when, status)
        for ln in s.lines:
            line_id += 1
            lines.add(line_id, s.n, ln.sku, ln.qty, ln.price, int(ln.voided))
    return [products, sales, lines], {}, None


def _unicenta() -> tuple[list[_Table], dict[str, str], str | None]:
    cats = _Table("categories", [("id", "str"), ("name", "str"), ("parentid", "str")],
                  key=("id",))
    cat_id = {c: f"cat-{i}" for i, c in enumerate(sorted({p.category for p in PRODUCTS}))}
    for c, i in cat_id.items():
        cats.add(i, c, None)
    taxcats = _Table("taxcategories", [("id", "str"), ("name", "str")], key=("id",))
    taxcats.add("001", "Standard")
    taxes = _Table("taxes", [("id", "str"), ("name", "str"), ("category", "str"),
                             ("custcategory", "str"), ("parentid", "str"), ("rate", "float")],
                   key=("id",))
    taxes.add("001", "VAT 20%", "001", None, None, TAX_RATE)
    products = _Table("products", [
        ("id", "str"), ("reference", "str"), ("code", "str"), ("codetype", "str"),
        ("name", "str"), ("pricebuy", "float"), ("pricesell", "float"), ("category", "str"),
        ("taxcat", "str"), ("isscale", "int")], key=("id",))
    pid = {p.sku: str(uuid.UUID(int=p.n)) for p in PRODUCTS}
    for p in PRODUCTS:
        products.add(pid[p.sku], p.sku, p.barcode, "EAN-13", p.name, p.cost,
                     p.price / (1 + TAX_RATE), cat_id[p.category], "001", int(p.weighed))
    locations = _Table("locations", [("id", "str"), ("name", "str")], key=("id",))
    locations.add("0", "General")
    locations.add("1", "Back store")
    stock = _Table("stockcurrent", [("location", "str"), ("product", "str"),
                                    ("attributesetinstance_id", "str"), ("units", "float")])
    for p in PRODUCTS:          # split over two locations: the preset sums them
        stock.add("0", pid[p.sku], None, p.stock - 1 if p.stock >= 1 else p.stock)
        if p.stock >= 1:
            stock.add("1", pid[p.sku], None, 1.0)
    closed = _Table("closedcash", [("money", "str"), ("host", "str"), ("hostsequence", "int"),
                                   ("datestart", "datetime"), ("dateend", "datetime")],
                    key=("money",))
    receipts = _Table("receipts", [("id", "str"), ("money", "str"), ("datenew", "datetime"),
                                   ("person", "str")], key=("id",))
    tickets = _Table("tickets", [("id", "str"), ("tickettype", "int"), ("ticketid", "int"),
                                 ("person", "str"), ("customer", "str"), ("status", "int")],
                     key=("id",))
    tlines = _Table("ticketlines", [("ticket", "str"), ("line", "int"), ("product", "str"),
                                    ("attributesetinstance_id", "str"), ("units", "float"),
                                    ("price", "float"), ("taxid", "str")],
                    key=("ticket", "line"))
    removed = _Table("lineremoved", [("removeddate", "datetime"), ("name", "str"),
                                     ("ticketid", "str"), ("productid", "str"),
                                     ("productname", "str"), ("units", "float")])
    for reg in ("1", "2", "3"):
        closed.add(f"money-{reg}", f"till-{reg}", 1, dt.datetime(2026, 5, 1, 7, 0), None)
    ticket_no = 0
    for s in SALES:
        if s.kind in ("void", "open"):      # never written: held in the Java process
            continue
        ticket_no += 1
        tid = str(uuid.UUID(int=10_000 + s.n))
        receipts.add(tid, f"money-{s.register}", s.when, "0")
        tickets.add(tid, 1 if s.kind == "refund" else 0, ticket_no, "0", None, 0)
        line_no = 0
        for ln in s.lines:
            if ln.voided:
                removed.add(s.when, "Administrator", str(ticket_no), pid[ln.sku],
                            BY_SKU[ln.sku].name, ln.qty)
                continue
            tlines.add(tid, line_no, pid[ln.sku], None, ln.qty, ln.price / (1 + TAX_RATE),
                       "001")
            line_no += 1
        if s.n % 50 == 7 and s.kind == "sale":     # a free line with no product
            tlines.add(tid, line_no, None, None, 1.0, 2.5, "001")
    # a customer's debt payment: a ticket of type 2 with no lines
    tickets.add("payment-1", 2, ticket_no + 1, "0", None, 0)
    receipts.add("payment-1", "money-1", SALES[100].when, "0")
    return ([cats, taxcats, taxes, products, locations, stock, closed, receipts, tickets,
             tlines, removed], {"preset": "unicenta"}, None)


def _ospos() -> tuple[list[_Table], dict[str, str], str | None]:
    items = _Table("ospos_items", [
        ("name", "str"), ("category", "str"), ("supplier_id", "int"), ("item_number", "str"),
        ("description", "str"), ("cost_price", "decimal"), ("unit_price", "decimal"),
        ("item_id", "int"), ("deleted", "int"), ("item_type", "int"), ("stock_type", "int")],
        key=("item_id",))
    for p in PRODUCTS:
        items.add(p.name, p.category, None, p.barcode, "", Decimal(str(p.cost)),
                  Decimal(str(p.price)), p.n, 0 if p.active else 1, 0, 0)
    locs = _Table("ospos_stock_locations", [("location_id", "int"), ("location_name", "str"),
                                            ("deleted", "int")], key=("location_id",))
    locs.add(1, "Main", 0)
    locs.add(2, "Annex", 0)
    qty = _Table("ospos_item_quantities", [("item_id", "int"), ("location_id", "int"),
                                           ("quantity", "decimal")],
                 key=("item_id", "location_id"))
    for p in PRODUCTS:
        main = p.stock * 3 // 4
        qty.add(p.n, 1, Decimal(str(main)))
        qty.add(p.n, 2, Decimal(str(p.stock - main)))
    sales = _Table("ospos_sales", [
        ("sale_time", "datetime"), ("customer_id", "int"), ("employee_id", "int"),
        ("comment", "text"), ("invoice_number", "str"), ("quote_number", "str"),
        ("sale_id", "int"), ("sale_status", "int"), ("dinner_table_id", "int"),
        ("work_order_number", "str"), ("sale_type", "int")], key=("sale_id",))
    items_sold = _Table("ospos_sales_items", [
        ("sale_id", "int"), ("item_id", "int"), ("description", "str"),
        ("serialnumber", "str"), ("line", "int"), ("quantity_purchased", "decimal"),
        ("item_cost_price", "decimal"), ("item_unit_price", "decimal"),
        ("discount", "decimal"), ("discount_type", "int"), ("item_location", "int"),
        ("print_option", "int")], key=("sale_id", "item_id", "line"))
    for s in SALES:
        if s.kind == "open":                # the cart lives in the PHP session
            continue
        status = 2 if s.kind == "void" else 0
        stype = 4 if s.kind == "refund" else 0
        sales.add(s.when, None, 1, "", None, None, s.n, status, None, None, stype)
        loc = 2 if s.store == "Annex" else 1
        for i, ln in enumerate(_mined_or_written(s)):
            p = BY_SKU[ln.sku]
            items_sold.add(s.n, p.n, "", "", i + 1, Decimal(str(ln.qty)), Decimal(str(p.cost)),
                           Decimal(str(ln.price)), Decimal("0"), 0, loc, 0)
    # a quote (sale_type 3) and a suspended cart (sale_status 1): neither is a sale
    base = SALES[50].when
    for sale_id, status, stype in ((9001, 0, 3), (9002, 1, 0)):
        sales.add(base, None, 1, "", None, None, sale_id, status, None, None, stype)
        items_sold.add(sale_id, BY_SKU["MOW-DLX"].n, "", "", 1, Decimal("1"),
                       Decimal("230"), Decimal("369"), Decimal("0"), 0, 1, 0)
    return [items, locs, qty, sales, items_sold], {"preset": "ospos"}, "Annex"


def _odoo_name(text: str) -> str:
    return json.dumps({"en_US": text, "de_DE": f"{text} (de)"}, ensure_ascii=False)


def _odoo() -> tuple[list[_Table], dict[str, str], str | None]:
    categ = _Table("product_category", [("id", "int"), ("name", "str"),
                                        ("complete_name", "str")], key=("id",))
    cat_id = {c: i + 1 for i, c in enumerate(sorted({p.category for p in PRODUCTS}))}
    for c, i in cat_id.items():
        categ.add(i, c, f"All / {c}")
    tmpl = _Table("product_template", [
        ("id", "int"), ("name", "json"), ("categ_id", "int"), ("list_price", "float"),
        ("active", "bool"), ("sale_ok", "bool"), ("available_in_pos", "bool"),
        ("type", "str")], key=("id",))
    prod = _Table("product_product", [
        ("id", "int"), ("product_tmpl_id", "int"), ("default_code", "str"),
        ("barcode", "str"), ("active", "bool"), ("standard_price", "json"),
        ("combination_indices", "str")], key=("id",))
    attr = _Table("product_attribute", [("id", "int"), ("name", "json")], key=("id",))
    pav = _Table("product_attribute_value", [("id", "int"), ("name", "json"),
                                             ("attribute_id", "int")], key=("id",))
    ptav = _Table("product_template_attribute_value", [
        ("id", "int"), ("product_attribute_value_id", "int"), ("product_tmpl_id", "int"),
        ("attribute_id", "int"), ("price_extra", "float")], key=("id",))
    comb = _Table("product_variant_combination", [("product_product_id", "int"),
                                                  ("product_template_attribute_value_id",
                                                   "int")])
    attr.add(1, json.dumps({"en_US": "Size"}))
    tmpl_of: dict[str, int] = {}
    next_tmpl = 100
    for base, skus in FAMILIES.items():
        next_tmpl += 1
        cheapest = min(BY_SKU[s].price for s in skus)
        p0 = BY_SKU[skus[0]]
        tmpl.add(next_tmpl, _odoo_name(base), cat_id[p0.category], cheapest, True, True, True,
                 "consu")
        for s in skus:
            tmpl_of[s] = next_tmpl
    for p in PRODUCTS:
        if p.sku not in tmpl_of:
            next_tmpl += 1
            tmpl.add(next_tmpl, _odoo_name(p.name), cat_id[p.category], p.price, p.active,
                     True, True, "consu")
            tmpl_of[p.sku] = next_tmpl
    pav_id = 0
    for p in PRODUCTS:
        prod.add(p.n, tmpl_of[p.sku], p.sku, p.barcode, p.active,
                 json.dumps({"1": p.cost}), "")
        if p.variant:
            pav_id += 1
            pav.add(pav_id, _odoo_name(p.variant), 1)
            cheapest = min(BY_SKU[s].price for s in FAMILIES[p.base])
            ptav.add(pav_id, pav_id, tmpl_of[p.sku], 1, round(p.price - cheapest, 2))
            comb.add(p.n, pav_id)
    wh = _Table("stock_warehouse", [("id", "int"), ("name", "str"), ("code", "str")],
                key=("id",))
    wh.add(1, "Main", "WH")
    wh.add(2, "Annex", "ANX")
    loc = _Table("stock_location", [("id", "int"), ("name", "str"), ("usage", "str"),
                                    ("warehouse_id", "int")], key=("id",))
    loc.add(8, "WH/Stock", "internal", 1)
    loc.add(18, "ANX/Stock", "internal", 2)
    loc.add(5, "Partners/Customers", "customer", None)
    quant = _Table("stock_quant", [("id", "int"), ("product_id", "int"), ("location_id", "int"),
                                   ("quantity", "float")], key=("id",))
    q = 0
    for p in PRODUCTS:
        main = p.stock * 3 // 4
        for loc_id, amount in ((8, main), (18, p.stock - main), (5, 3.0)):
            q += 1
            quant.add(q, p.n, loc_id, float(amount))
    ptype = _Table("stock_picking_type", [("id", "int"), ("name", "str"),
                                          ("warehouse_id", "int")], key=("id",))
    ptype.add(1, "PoS Orders", 1)
    ptype.add(2, "PoS Orders", 2)
    config = _Table("pos_config", [("id", "int"), ("name", "str"), ("picking_type_id", "int")],
                    key=("id",))
    session = _Table("pos_session", [("id", "int"), ("config_id", "int"), ("state", "str")],
                     key=("id",))
    for reg, (name, ptype_id) in {"1": ("Shop 1", 1), "2": ("Shop 2", 1),
                                  "3": ("Annex", 2)}.items():
        config.add(int(reg), name, ptype_id)
        session.add(int(reg), int(reg), "opened")
    orders = _Table("pos_order", [
        ("id", "int"), ("name", "str"), ("date_order", "datetime"), ("state", "str"),
        ("session_id", "int"), ("company_id", "int"), ("amount_total", "float"),
        ("write_date", "datetime")], key=("id",))
    olines = _Table("pos_order_line", [
        ("id", "int"), ("order_id", "int"), ("product_id", "int"), ("qty", "float"),
        ("price_unit", "float"), ("discount", "float"), ("full_product_name", "str"),
        ("refunded_orderline_id", "int")], key=("id",))
    line_id = 0
    first_line: dict[int, int] = {}
    for s in SALES:
        state = {"sale": "paid", "refund": "paid", "void": "cancel", "open": "draft"}[s.kind]
        if s.kind == "sale" and s.n % 3 == 0:
            state = "done"
        if s.kind == "sale" and s.n % 17 == 0:
            state = "invoiced"
        written = _mined_or_written(s)
        orders.add(s.n, f"Shop/{s.n:04d}", s.utc, state, int(s.register), 1,
                   sum(ln.qty * ln.price for ln in written), s.utc)
        for ln in written:
            line_id += 1
            first_line.setdefault(s.n, line_id)
            olines.add(line_id, s.n, BY_SKU[ln.sku].n, ln.qty, ln.price, 0.0,
                       BY_SKU[ln.sku].name,
                       first_line.get(s.refund_of or -1) if s.kind == "refund" else None)
    return ([categ, tmpl, prod, attr, pav, ptav, comb, wh, loc, quant, ptype, config, session,
             orders, olines], {"preset": "odoo", "timezone": STORE_TZ}, "Annex")


def _dolibarr() -> tuple[list[_Table], dict[str, str], str | None]:
    product = _Table("llx_product", [
        ("rowid", "int"), ("ref", "str"), ("entity", "int"), ("label", "str"),
        ("price", "float"), ("price_ttc", "float"), ("cost_price", "float"), ("pmp", "float"),
        ("stock", "float"), ("tosell", "int"), ("tobuy", "int"), ("barcode", "str"),
        ("fk_product_type", "int")], key=("rowid",))
    for p in PRODUCTS:
        product.add(p.n, p.sku, 1, p.name, p.price / (1 + TAX_RATE), p.price, p.cost, 0.0,
                    p.stock, int(p.active), 1, p.barcode, 0)
    parents: dict[str, int] = {}
    for i, base in enumerate(FAMILIES):              # the variants' parent products
        rowid = 900 + i
        parents[base] = rowid
        product.add(rowid, base.upper().replace(" ", "-"), 1, base, 0.0, 0.0, None, 0.0, 0.0,
                    0, 0, None, 0)
    comb = _Table("llx_product_attribute_combination", [
        ("rowid", "int"), ("fk_product_parent", "int"), ("fk_product_child", "int"),
        ("variation_price", "float"), ("variation_price_percentage", "int"),
        ("variation_weight", "float"), ("entity", "int")], key=("rowid",))
    for p in PRODUCTS:
        if p.variant:
            comb.add(p.n, parents[p.base], p.n, 0.0, None, 0.0, 1)
    categorie = _Table("llx_categorie", [("rowid", "int"), ("entity", "int"), ("label", "str"),
                                         ("type", "int")], key=("rowid",))
    cat_id = {c: i + 1 for i, c in enumerate(sorted({p.category for p in PRODUCTS}))}
    for c, i in cat_id.items():
        categorie.add(i, 1, c, 0)
    cat_prod = _Table("llx_categorie_product", [("fk_categorie", "int"), ("fk_product", "int")],
                      key=("fk_categorie", "fk_product"))
    for p in PRODUCTS:
        cat_prod.add(cat_id[p.category], p.n)
    facture = _Table("llx_facture", [
        ("rowid", "int"), ("ref", "str"), ("entity", "int"), ("type", "int"),
        ("fk_soc", "int"), ("datec", "datetime"), ("datef", "date"), ("tms", "datetime"),
        ("fk_statut", "int"), ("paye", "int"), ("fk_facture_source", "int"),
        ("module_source", "str"), ("pos_source", "str"), ("total_ttc", "float")],
        key=("rowid",))
    det = _Table("llx_facturedet", [
        ("rowid", "int"), ("fk_facture", "int"), ("fk_product", "int"), ("label", "str"),
        ("description", "text"), ("qty", "float"), ("subprice", "float"),
        ("total_ttc", "float"), ("product_type", "int"), ("rang", "int")], key=("rowid",))
    det_id = 0
    for s in SALES:
        entity = 2 if s.store == "Annex" else 1
        if s.kind == "open":
            ref, statut, ftype = f"(PROV-POS{s.register}-0)", 0, 0
        elif s.kind == "void":
            ref, statut, ftype = f"FA2026-{s.n:05d}", 3, 0
        elif s.kind == "refund":
            ref, statut, ftype = f"AV2026-{s.n:05d}", 2, 2
        else:
            ref, statut, ftype = f"FA2026-{s.n:05d}", 2, 0
        written = _mined_or_written(s)
        facture.add(s.n, ref, entity, ftype, 1, s.when, s.when.date(), s.when, statut,
                    int(statut == 2), s.refund_of, "takepos", s.register,
                    sum(ln.qty * ln.price for ln in written))
        for rang, ln in enumerate(written):
            det_id += 1
            p = BY_SKU[ln.sku]
            if s.kind == "refund":      # a credit note: positive quantities, negative prices
                det.add(det_id, s.n, p.n, p.name, "", abs(ln.qty), -ln.price, -ln.price, 0,
                        rang)
            else:
                det.add(det_id, s.n, p.n, p.name, "", ln.qty, ln.price, ln.qty * ln.price, 0,
                        rang)
        if s.n % 50 == 7 and s.kind == "sale":     # a free-text line with no product
            det_id += 1
            det.add(det_id, s.n, None, None, "Gift wrap", 1.0, 2.5, 2.5, 1, 99)
    # an invoice made in the back office (not TakePOS): not a till sale
    facture.add(9001, "FA2026-09001", 1, 0, 2, SALES[60].when, SALES[60].when.date(),
                SALES[60].when, 2, 1, None, None, None, 369.0)
    det_id += 1
    det.add(det_id, 9001, BY_SKU["MOW-DLX"].n, "Lawn Mower Deluxe", "", 4.0, 369.0, 1476.0,
            0, 0)
    return ([product, comb, categorie, cat_prod, facture, det], {"preset": "dolibarr"}, "2")


def _erpnext() -> tuple[list[_Table], dict[str, str], str | None]:
    wh = {"Main": "Stores - FS", "Annex": "Annex - FS"}
    item = _Table("tabItem", [
        ("name", "str"), ("item_code", "str"), ("item_name", "str"), ("item_group", "str"),
        ("stock_uom", "str"), ("variant_of", "str"), ("has_variants", "int"),
        ("valuation_rate", "decimal"), ("disabled", "int"), ("is_sales_item", "int"),
        ("is_stock_item", "int")], key=("name",))
    for base in FAMILIES:
        code = base.upper().replace(" ", "-")
        item.add(code, code, base, BY_SKU[FAMILIES[base][0]].category, "Nos", None, 1,
                 Decimal("0"), 0, 1, 1)
    for p in PRODUCTS:
        template = p.base.upper().replace(" ", "-") if p.variant else None
        item.add(p.sku, p.sku, p.name, p.category, "Kg" if p.weighed else "Nos", template, 0,
                 Decimal(str(p.cost)), 0 if p.active else 1, 1, 1)
    barcode = _Table("tabItem Barcode", [("name", "str"), ("parent", "str"),
                                         ("parenttype", "str"), ("barcode", "str"),
                                         ("barcode_type", "str")], key=("name",))
    price = _Table("tabItem Price", [("name", "str"), ("item_code", "str"),
                                     ("price_list", "str"), ("selling", "int"),
                                     ("buying", "int"), ("price_list_rate", "decimal")],
                   key=("name",))
    binq = _Table("tabBin", [("name", "str"), ("item_code", "str"), ("warehouse", "str"),
                             ("actual_qty", "decimal")], key=("name",))
    for p in PRODUCTS:
        barcode.add(f"bc-{p.n}", p.sku, "Item", p.barcode, "EAN")
        price.add(f"ip-{p.n}", p.sku, "Standard Selling", 1, 0, Decimal(str(p.price)))
        price.add(f"ipb-{p.n}", p.sku, "Standard Buying", 0, 1, Decimal(str(p.cost)))
        main = p.stock * 3 // 4
        binq.add(f"bin-{p.n}-m", p.sku, wh["Main"], Decimal(str(main)))
        binq.add(f"bin-{p.n}-a", p.sku, wh["Annex"], Decimal(str(p.stock - main)))
    inv = _Table("tabPOS Invoice", [
        ("name", "str"), ("docstatus", "int"), ("is_return", "int"), ("return_against", "str"),
        ("posting_date", "date"), ("posting_time", "time"), ("pos_profile", "str"),
        ("company", "str"), ("set_warehouse", "str"), ("status", "str"),
        ("consolidated_invoice", "str"), ("grand_total", "decimal"),
        ("modified", "datetime")], key=("name",))
    it = _Table("tabPOS Invoice Item", [
        ("name", "str"), ("parent", "str"), ("parenttype", "str"), ("idx", "int"),
        ("item_code", "str"), ("qty", "decimal"), ("rate", "decimal"), ("warehouse", "str"),
        ("barcode", "str")], key=("name",))
    for s in SALES:
        name = f"ACC-PSINV-2026-{s.n:05d}"
        docstatus = {"sale": 1, "refund": 1, "void": 2, "open": 0}[s.kind]
        status = {"sale": "Consolidated" if s.n < 200 else "Paid", "refund": "Return",
                  "void": "Cancelled", "open": "Draft"}[s.kind]
        written = _mined_or_written(s)
        inv.add(name, docstatus, int(s.kind == "refund"),
                f"ACC-PSINV-2026-{s.refund_of:05d}" if s.refund_of else None,
                s.when.date(), s.when.time(), f"POS {s.register}", "Fake Store",
                wh[s.store], status, None,
                Decimal(str(round(sum(ln.qty * ln.price for ln in written), 2))), s.when)
        for idx, ln in enumerate(written):
            p = BY_SKU[ln.sku]
            it.add(f"{name}-{idx + 1}", name, "POS Invoice", idx + 1, p.sku,
                   Decimal(str(ln.qty)), Decimal(str(ln.price)), wh[s.store], p.barcode)
    return ([item, barcode, price, binq, inv, it], {"preset": "erpnext"}, wh["Annex"])


_LAYOUT_WRITERS = {"reference": _reference, "unicenta": _unicenta, "ospos": _ospos,
                   "odoo": _odoo, "dolibarr": _dolibarr, "erpnext": _erpnext}


def fixture_data(layout: str, dialect: str = "sqlite") -> FixtureData:
    """The fake store in ``layout``'s tables, for ``dialect`` (see the module docstring)."""
    if dialect not in DIALECTS[layout]:
        raise ValueError(f"no {dialect} fixture for {layout} (it runs on "
                         f"{', '.join(DIALECTS[layout])})")
    tables, settings, annex = _LAYOUT_WRITERS[layout]()
    return FixtureData(layout, dialect, [t.ddl(dialect) for t in tables],
                       {t.name: ([c for c, _ in t.columns], t.rows) for t in tables},
                       dict(settings), annex)


def _sqlite_value(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, bool):
        return int(v)
    return v


def build_sqlite(layout: str, path: Path, wal: bool = False) -> FixtureData:
    """Write the fake store in ``layout``'s tables to a new SQLite file."""
    data = fixture_data(layout, "sqlite")
    conn = sqlite3.connect(path)
    try:
        if wal:
            conn.execute("PRAGMA journal_mode=WAL")
        for stmt in data.ddl:
            conn.execute(stmt)
        for table, (cols, rows) in data.tables.items():
            marks = ", ".join("?" for _ in cols)
            conn.executemany(f"INSERT INTO {quote(table, 'sqlite')} VALUES ({marks})",
                             [tuple(_sqlite_value(v) for v in row) for row in rows])
        conn.commit()
    finally:
        conn.close()
    return data


def name_of(products: dict[str, Any], skus: Sequence[str]) -> frozenset[str]:
    """A basket of SKUs as product names (through a preset's own products)."""
    return frozenset(products[s].name for s in skus)
