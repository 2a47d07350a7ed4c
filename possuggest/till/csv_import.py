"""Item-level sales exports of cloud tills (Square, Shopify, Loyverse, or a plain CSV),
mirrored into a local SQLite till database for stores whose till has no database to read.

``possuggest import FILE`` (or ``--folder DIR``, a drop folder) adds each export's lines to
``imported-till.db`` in possuggest's data folder, in the reference schema (till/schema.py,
plus a ``barcode`` column), so ``[till] path`` pointed at it needs no mapping. Written with
sqlite-utils, in one transaction per file: a bad file adds nothing.

* **Idempotent.** Each line is keyed on the export's own line identity (Square's line
  ``Token`` when the export has it; otherwise the transaction / order / receipt, the line's
  fields and how often that exact line occurs in it), so the same file twice, or two
  exports that overlap, add each line once.
* **Bad files are refused** with one line naming the file and the problem: a missing column
  (named), a value that is not a number or a date (with its row), an unknown format.
* **Returns and voids** keep the reference schema's meaning: a refund is a sale of negative
  quantities (mining leaves it out), a cancelled receipt or order is ``void``.

What the exports hold (column names checked against public parsers of real exports; see
the README): Square "Items" (Items Detail) — ``Date, Time, Time Zone, Category, Item, Qty,
Price Point Name, SKU, Gross Sales, Transaction ID, Event Type (Payment/Refund), Device Name,
Location, Token, GTIN``; Shopify orders export — one row per line item: ``Name`` (the order),
``Created at``, ``Lineitem quantity``, ``Lineitem name``, ``Lineitem price``, ``Lineitem
sku``, ``Financial Status``, ``Cancelled at``, ``Location`` (order fields are blank on an
order's second and later rows); Loyverse "Receipts by item" — ``Date, Receipt number,
Receipt type (Sale/Refund), Category, SKU, Item, Variant, Quantity, Gross sales, Cost of
goods, POS, Store, Status (Closed/Cancelled)``. Generic: ``sale_id, time, sku, qty`` and
optionally ``name, category, price, barcode, line_id, status``.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from possuggest.core.errors import InputFileError
from possuggest.till.schema import REFERENCE_DDL

log = logging.getLogger(__name__)

FORMATS = ("square", "shopify", "loyverse", "generic")
#: the imported till's file name, in possuggest's data folder
IMPORTED_TILL = "imported-till.db"
_MARK = "possuggest import"
_MAX_BYTES = 512 * 1024 * 1024

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS import_meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS import_sales (
    sale_key TEXT PRIMARY KEY, sale_id INTEGER NOT NULL REFERENCES sales(sale_id));
CREATE TABLE IF NOT EXISTS import_lines (
    line_key TEXT PRIMARY KEY, line_id INTEGER NOT NULL REFERENCES sale_lines(line_id));
CREATE TABLE IF NOT EXISTS import_files (
    sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, format TEXT NOT NULL, rows INTEGER NOT NULL,
    new_lines INTEGER NOT NULL, imported_at TEXT NOT NULL);
"""


class CsvImportError(InputFileError):
    """An export that cannot be imported; ``str(e)`` names the file and the problem."""


@dataclass(frozen=True)
class ImportResult:
    file: Path
    format: str
    rows: int                   # data rows read
    new_lines: int              # sale lines added (0 for a file imported before)
    new_sales: int
    already: bool               # this exact file was imported before
    database: Path

    def text(self) -> str:
        if self.already:
            return (f"{self.file.name}: already imported ({self.format}, {self.rows:,} rows); "
                    "nothing added")
        return (f"{self.file.name}: {self.format} export, {self.rows:,} rows: "
                f"{self.new_lines:,} new sale lines in {self.new_sales:,} new sales "
                f"(into {self.database})")


@dataclass(slots=True)
class _Line:
    sale_key: str
    line_key: str
    when: str                   # the store's local time, ISO
    sku: str
    name: str
    category: str
    qty: float
    price: float | None
    cost: float | None = None
    barcode: str = ""
    status: str = "closed"      # closed | void
    register: str = ""


@dataclass
class _Parsed:
    lines: list[_Line] = field(default_factory=list)
    rows: int = 0


# -- reading the file ---------------------------------------------------------------------------
# the columns each format reads (the others are dropped while reading: less memory)
_USED = {
    "square": ("Date", "Time", "Item", "Qty", "Transaction ID", "Event Type",
               "Price Point Name", "SKU", "Gross Sales", "Modifiers Applied", "Category",
               "Token", "GTIN", "Device Name"),
    "shopify": ("Name", "Created at", "Lineitem quantity", "Lineitem name", "Lineitem sku",
                "Lineitem price", "Cancelled at", "Financial Status", "Location"),
    "loyverse": ("Date", "Receipt number", "Receipt type", "Status", "Quantity", "Item",
                 "Variant", "SKU", "Gross sales", "Cost of goods", "Modifiers applied",
                 "Category", "POS"),
    "generic": ("sale_id", "time", "sku", "qty", "status", "line_id", "price", "name",
                "category", "barcode"),
}


def _check_file(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CsvImportError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if size > _MAX_BYTES:
        raise CsvImportError(f"{path}: larger than {_MAX_BYTES // 2**20} MB; split the export")


def _read_header(path: Path) -> tuple[list[str], str]:
    """The header of a CSV file (UTF-8, with or without BOM) and its delimiter (comma,
    semicolon or tab)."""
    _check_file(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            first = ""
            for line in f:
                if line.strip():
                    first = line
                    break
    except OSError as exc:
        raise CsvImportError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CsvImportError(f"{path}: not UTF-8 text (save the export as CSV UTF-8)") from None
    if not first:
        raise CsvImportError(f"{path}: empty file")
    delimiter = max(",;\t", key=first.count)
    header = next(csv.reader([first], delimiter=delimiter))
    return [h.strip() for h in header], delimiter


def _read_rows(path: Path, header: list[str], delimiter: str,
               keep: Sequence[int]) -> list[tuple[str, ...]]:
    """The data rows, only the ``keep`` columns of each (streamed, never the whole text)."""
    rows: list[tuple[str, ...]] = []
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f, delimiter=delimiter)
            seen_header = False
            for raw in reader:
                if not any(c.strip() for c in raw):
                    continue
                if not seen_header:
                    seen_header = True
                    continue
                n = len(raw)
                rows.append(tuple(raw[i] if i < n else "" for i in keep))
    except OSError as exc:
        raise CsvImportError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CsvImportError(f"{path}: not UTF-8 text (save the export as CSV UTF-8)") from None
    except csv.Error as exc:
        raise CsvImportError(f"{path}: not a readable CSV file: {exc}") from None
    return rows


class _Rows:
    """Rows by column name (case-insensitive), with errors naming the file and row."""

    def __init__(self, path: Path, fmt: str, header: Sequence[str],
                 rows: list[tuple[str, ...]]) -> None:
        self.path, self.fmt, self.rows = path, fmt, rows
        self.index = {h.casefold(): i for i, h in enumerate(header)}
        self._at: dict[str, int] = {}

    def require(self, *names: str) -> None:
        missing = [n for n in names if n.casefold() not in self.index]
        if missing:
            raise CsvImportError(f"{self.path.name}: {self.fmt} export lacks column(s): "
                                 f"{', '.join(missing)}")

    def has(self, name: str) -> bool:
        return name.casefold() in self.index

    def get(self, row: Sequence[str], name: str) -> str:
        i = self._at.get(name)
        if i is None:
            i = self._at[name] = self.index.get(name.casefold(), -1)
        if i < 0 or i >= len(row):
            return ""
        return row[i].strip()

    def error(self, n: int, message: str) -> CsvImportError:
        return CsvImportError(f"{self.path.name} row {n + 2}: {message}")

    def number(self, row: Sequence[str], n: int, name: str,
               blank: float | None = None) -> float:
        raw = self.get(row, name)
        if not raw:
            if blank is None:
                raise self.error(n, f"'{name}' is empty")
            return blank
        value = parse_number(raw)
        if value is None:
            raise self.error(n, f"'{name}' is not a number: {raw!r}")
        return value


def parse_number(text: str) -> float | None:
    """A quantity or an amount as exports write it: ``$1,234.50``, ``-$12.00``, ``(3.00)``,
    ``1.234,50``, ``3,5``; None when it is not one."""
    try:
        plain = float(text)                 # the common case: a plain number
    except ValueError:
        pass
    else:
        return plain if math.isfinite(plain) else None
    t = text.strip().replace("\u2212", "-").replace("\u00a0", "").replace(" ", "")
    negative = t.startswith("(") and t.endswith(")")
    t = re.sub(r"[^\d,.\-]", "", t.strip("()"))
    if t.count("-") > 1 or (t.count("-") == 1 and not t.startswith("-")):
        return None
    if "," in t and "." in t:               # the later one is the decimal point
        t = t.replace(",", "") if t.rfind(".") > t.rfind(",") else \
            t.replace(".", "").replace(",", ".")
    elif "," in t:
        parts = t.split(",")
        if len(parts) == 2 and len(parts[1]) != 3:
            t = f"{parts[0]}.{parts[1]}"       # 3,5 and 1,50: a decimal comma
        elif all(len(part) == 3 for part in parts[1:]):
            t = "".join(parts)                 # 1,234 and 1,234,567: thousands
        else:
            return None
    if not re.fullmatch(r"-?\d+(\.\d+)?|-?\.\d+", t):
        return None
    value = float(t)
    return -value if negative else value


_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def parse_iso_time(text: str) -> str | None:
    """ISO-like date and time (an offset is dropped: the export's local time is kept)."""
    t = text.strip()
    m = re.match(r"^(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2}(?::\d{2})?)(?:\.\d+)?"
                 r"\s*(?:Z|[+-]\d{2}:?\d{2})?$", t)
    if m:
        clock = m.group(2) if m.group(2).count(":") == 2 else m.group(2) + ":00"
        try:
            return _iso(datetime.fromisoformat(f"{m.group(1)}T{clock.zfill(8)}"))
        except ValueError:
            return None
    try:
        return _iso(datetime.combine(date.fromisoformat(t), datetime.min.time()))
    except ValueError:
        return None


_SLASH = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{2}|\d{4})(?:[ ,T]+(\d{1,2}):(\d{2})"
                    r"(?::(\d{2}))?\s*([AaPp][Mm])?)?$")


def _slash_order(texts: Iterable[str], day_first: bool | None) -> bool:
    """Whether ``a/b/yyyy`` dates are day first: from the values (a part above 12 decides) or
    the caller's choice; an undecidable file is refused rather than guessed."""
    firsts = seconds = False
    for t in texts:
        m = _SLASH.match(t.strip())
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            firsts |= a > 12
            seconds |= b > 12
    if day_first is not None:
        return day_first
    if firsts and not seconds:
        return True
    if seconds and not firsts:
        return False
    if firsts and seconds:
        raise ValueError("dates mix day/month and month/day orders")
    raise ValueError("dates like 01/02/2026 could be day/month or month/day: give "
                     "--day-first or --month-first")


def parse_slash_time(text: str, day_first: bool) -> str | None:
    m = _SLASH.match(text.strip())
    if not m:
        return parse_iso_time(text)
    a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
    day, month = (a, b) if day_first else (b, a)
    year = y + 2000 if y < 100 else y
    hour, minute, second = int(m.group(4) or 0), int(m.group(5) or 0), int(m.group(6) or 0)
    ampm = (m.group(7) or "").lower()
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    try:
        return _iso(datetime(year, month, day, hour, minute, second))
    except ValueError:
        return None


def _occurrences(keys: Iterable[str]) -> list[str]:
    """Each key with how often it occurred before (identical lines stay distinct)."""
    seen: dict[str, int] = {}
    out = []
    for k in keys:
        n = seen.get(k, 0)
        seen[k] = n + 1
        out.append(f"{k}#{n}")
    return out


def _named(base: str, variant: str, plain: Sequence[str] = ("", "regular")) -> str:
    return f"{base} ({variant})" if variant.strip().casefold() not in plain else base


# -- the formats --------------------------------------------------------------------------------
def _square(r: _Rows) -> _Parsed:
    r.require("Date", "Time", "Item", "Qty", "Transaction ID")
    out = _Parsed(rows=len(r.rows))
    raw_keys = []
    for n, row in enumerate(r.rows):
        when = parse_iso_time(f"{r.get(row, 'Date')} {r.get(row, 'Time')}")
        if when is None:
            raise r.error(n, f"'Date'/'Time' is not a date and time: "
                             f"{r.get(row, 'Date')!r} {r.get(row, 'Time')!r}")
        txn = r.get(row, "Transaction ID")
        if not txn:
            raise r.error(n, "'Transaction ID' is empty")
        event = r.get(row, "Event Type") or "Payment"
        refund = event.casefold() == "refund"
        qty = r.number(row, n, "Qty")
        qty = -abs(qty) if refund else qty
        item = r.get(row, "Item")
        if not item:
            raise r.error(n, "'Item' is empty")
        name = _named(item, r.get(row, "Price Point Name"))
        sku = r.get(row, "SKU") or name
        gross = r.number(row, n, "Gross Sales", 0.0) if r.has("Gross Sales") else None
        price = abs(gross / qty) if gross is not None and qty else None
        token = r.get(row, "Token")
        raw_keys.append(token and f"token:{token}" or "|".join(
            [txn, event, item, r.get(row, "Price Point Name"), r.get(row, "SKU"),
             r.get(row, "Qty"), r.get(row, "Gross Sales"), r.get(row, "Modifiers Applied"),
             when]))
        out.lines.append(_Line(f"square:{txn}:{event}", "", when, sku, name,
                               r.get(row, "Category"), qty, None if refund else price,
                               barcode=r.get(row, "GTIN"), register=r.get(row, "Device Name")))
    for line, key in zip(out.lines, _occurrences(raw_keys)):
        line.line_key = f"square:{key}"
    return out


def _shopify(r: _Rows) -> _Parsed:
    r.require("Name", "Created at", "Lineitem quantity", "Lineitem name")
    out = _Parsed(rows=len(r.rows))
    order = {"name": "", "when": "", "status": "closed", "register": ""}
    position: dict[str, int] = {}
    for n, row in enumerate(r.rows):
        name = r.get(row, "Name")
        if not name:
            raise r.error(n, "'Name' (the order) is empty")
        created = r.get(row, "Created at")
        if name != order["name"] or created:
            if name != order["name"] and not created and name not in position:
                raise r.error(n, f"order {name}: 'Created at' is empty on its first row")
            if created:
                when = parse_iso_time(created)
                if when is None:
                    raise r.error(n, f"'Created at' is not a date and time: {created!r}")
                cancelled = bool(r.get(row, "Cancelled at")) or \
                    r.get(row, "Financial Status").casefold() == "voided"
                order = {"name": name, "when": when, "status": "void" if cancelled else "closed",
                         "register": r.get(row, "Location")}
            else:
                order = dict(order, name=name)
        qty = r.number(row, n, "Lineitem quantity")
        item = r.get(row, "Lineitem name")
        if not item:
            raise r.error(n, "'Lineitem name' is empty")
        sku = r.get(row, "Lineitem sku") or item
        price = r.number(row, n, "Lineitem price", 0.0) if r.has("Lineitem price") else None
        k = position.get(name, 0)
        position[name] = k + 1
        out.lines.append(_Line(f"shopify:{name}", f"shopify:{name}:{k}:{sku}", order["when"],
                               sku, item, "", qty, price, status=order["status"],
                               register=order["register"]))
    return out


def _loyverse(r: _Rows, day_first: bool | None) -> _Parsed:
    r.require("Date", "Receipt number", "Item", "Quantity")
    out = _Parsed(rows=len(r.rows))
    try:
        dayfirst = _slash_order((r.get(row, "Date") for row in r.rows), day_first) \
            if any(_SLASH.match(r.get(row, "Date")) for row in r.rows) else False
    except ValueError as exc:
        raise CsvImportError(f"{r.path.name}: {exc}") from None
    raw_keys = []
    for n, row in enumerate(r.rows):
        when = parse_slash_time(r.get(row, "Date"), dayfirst)
        if when is None:
            raise r.error(n, f"'Date' is not a date and time: {r.get(row, 'Date')!r}")
        receipt = r.get(row, "Receipt number")
        if not receipt:
            raise r.error(n, "'Receipt number' is empty")
        refund = r.get(row, "Receipt type").casefold() == "refund"
        status = r.get(row, "Status").casefold()
        qty = r.number(row, n, "Quantity")
        qty = -abs(qty) if refund else qty
        item = r.get(row, "Item")
        if not item:
            raise r.error(n, "'Item' is empty")
        name = _named(item, r.get(row, "Variant"))
        sku = r.get(row, "SKU") or name
        gross = r.number(row, n, "Gross sales", 0.0) if r.has("Gross sales") else None
        cost = r.number(row, n, "Cost of goods", 0.0) if r.has("Cost of goods") else None
        price = abs(gross / qty) if gross is not None and qty else None
        unit_cost = abs(cost / qty) if cost is not None and qty else None
        raw_keys.append("|".join([receipt, sku, r.get(row, "Variant"),
                                  r.get(row, "Modifiers applied"), r.get(row, "Quantity"),
                                  r.get(row, "Gross sales")]))
        out.lines.append(_Line(f"loyverse:{receipt}", "", when, sku, name,
                               r.get(row, "Category"), qty, None if refund else price,
                               None if refund else unit_cost,
                               status="void" if status in ("cancelled", "canceled", "voided")
                               else "closed", register=r.get(row, "POS")))
    for line, key in zip(out.lines, _occurrences(raw_keys)):
        line.line_key = f"loyverse:{key}"
    return out


def _generic(r: _Rows) -> _Parsed:
    r.require("sale_id", "time", "sku", "qty")
    out = _Parsed(rows=len(r.rows))
    raw_keys = []
    for n, row in enumerate(r.rows):
        when = parse_iso_time(r.get(row, "time"))
        if when is None:
            raise r.error(n, f"'time' is not an ISO date and time: {r.get(row, 'time')!r}")
        sale, sku = r.get(row, "sale_id"), r.get(row, "sku")
        if not sale or not sku:
            raise r.error(n, f"'{'sale_id' if not sale else 'sku'}' is empty")
        qty = r.number(row, n, "qty")
        status = (r.get(row, "status") or "closed").casefold()
        if status not in ("closed", "void"):
            raise r.error(n, f"'status' is {status!r}, not closed or void")
        line_id = r.get(row, "line_id")
        raw_keys.append(f"id:{line_id}" if line_id else f"{sale}|{sku}|{r.get(row, 'qty')}")
        price = r.number(row, n, "price", 0.0) if r.get(row, "price") else None
        out.lines.append(_Line(f"generic:{sale}", "", when, sku, r.get(row, "name") or sku,
                               r.get(row, "category"), qty, price,
                               barcode=r.get(row, "barcode"), status=status))
    for line, raw, key in zip(out.lines, raw_keys, _occurrences(raw_keys)):
        line.line_key = f"generic:{raw if raw.startswith('id:') else key}"
    return out


def detect_format(header: Sequence[str]) -> str | None:
    """The export's format from its columns, or None."""
    have = {h.casefold() for h in header}
    if "item" in have and have & {"price point name", "transaction id"}:
        return "square"
    if any(h.startswith("lineitem ") for h in have):
        return "shopify"
    if "receipt number" in have:
        return "loyverse"
    if {"sale_id", "sku"} <= have:
        return "generic"
    return None


def parse_export(path: Path, fmt: str | None = None,
                 day_first: bool | None = None) -> tuple[str, _Parsed]:
    """Read and check a whole export (nothing is written); CsvImportError naming the
    problem."""
    header, delimiter = _read_header(path)
    found = detect_format(header)
    if fmt is None:
        if found is None:
            raise CsvImportError(f"{path.name}: cannot tell the export's format from its "
                                 "columns; give --format square, shopify, loyverse or generic")
        fmt = found
    if fmt not in FORMATS:
        raise CsvImportError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    used = {c.casefold() for c in _USED[fmt]}
    keep = [i for i, h in enumerate(header) if h.casefold() in used]
    r = _Rows(path, fmt, [header[i] for i in keep], _read_rows(path, header, delimiter, keep))
    parsers: dict[str, Callable[[], _Parsed]] = {
        "square": lambda: _square(r), "shopify": lambda: _shopify(r),
        "loyverse": lambda: _loyverse(r, day_first), "generic": lambda: _generic(r)}
    parsed = parsers[fmt]()
    if not parsed.lines:
        raise CsvImportError(f"{path.name}: no sale lines in the {fmt} export")
    return fmt, parsed


# -- writing the imported till -------------------------------------------------------------------
def _statements(script: str) -> list[str]:
    return [st.strip() for st in script.split(";") if st.strip()]


def _check_ours(conn: Any, path: Path) -> set[str]:
    """The tables of the imported till; another program's database is refused."""
    tables = {r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
    if tables and "import_meta" not in tables:
        raise CsvImportError(f"{path} is not an imported till made by possuggest; nothing "
                             "was changed")
    return tables


def _ensure_schema(conn: Any) -> None:
    """The reference schema, a barcode column and the bookkeeping (inside the caller's
    transaction: statement by statement, as executescript would commit first)."""
    for st in _statements(REFERENCE_DDL) + _statements(_BOOKKEEPING):
        conn.execute(st)
    columns = {r[1] for r in conn.execute("PRAGMA table_info(products)")}
    if "barcode" not in columns:
        conn.execute("ALTER TABLE products ADD COLUMN barcode TEXT")
    conn.execute("INSERT OR REPLACE INTO import_meta VALUES ('made_by', ?)", (_MARK,))


def import_export(path: str | Path, database: str | Path, fmt: str | None = None,
                  day_first: bool | None = None) -> ImportResult:
    """Add one export's sale lines to the imported till at ``database`` (see the module
    docstring). All or nothing: CsvImportError leaves the database as it was (and makes
    none when there was none)."""
    import sqlite3

    import sqlite_utils

    file = Path(path)
    fmt, parsed = parse_export(file, fmt, day_first)       # a bad file never opens the db
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    dbpath = Path(database)
    existed = dbpath.exists()
    try:
        conn = sqlite3.connect(str(dbpath), timeout=10.0, isolation_level=None)
    except sqlite3.Error as exc:
        raise CsvImportError(f"{dbpath}: cannot be opened: {exc}") from None
    ok = False
    try:
        tables = _check_ours(conn, dbpath)
        if "import_files" in tables and conn.execute(
                "SELECT 1 FROM import_files WHERE sha256 = ?", (digest,)).fetchone():
            ok = True
            return ImportResult(file, fmt, parsed.rows, 0, 0, True, dbpath)
        conn.execute("BEGIN IMMEDIATE")
        try:
            _ensure_schema(conn)
            new_lines, new_sales = _write(sqlite_utils.Database(conn), parsed)
            conn.execute("INSERT INTO import_files VALUES (?,?,?,?,?,?)",
                         (digest, file.name, fmt, parsed.rows, new_lines,
                          datetime.now().isoformat(timespec="seconds")))
            conn.execute("COMMIT")
            ok = True
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        raise CsvImportError(f"{dbpath}: cannot be written: {exc}") from None
    finally:
        conn.close()
        if not ok and not existed:
            dbpath.unlink(missing_ok=True)
    log.info("imported %s (%s): %d new lines, %d new sales", file, fmt, new_lines, new_sales)
    return ImportResult(file, fmt, parsed.rows, new_lines, new_sales, False, dbpath)


def _digest(key: str) -> str:
    """A line or sale identity as a fixed-size key (the export's fields can be long)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _existing(conn: Any, table: str, column: str, keys: list[str],
              value: str | None = None) -> dict[str, Any]:
    """Which of ``keys`` the table already holds (looked up in batches, so memory follows
    the file, not the whole history)."""
    import json

    found: dict[str, Any] = {}
    select = f"{column}, {value}" if value else f"{column}, 1"
    for i in range(0, len(keys), 500):
        batch = json.dumps(keys[i:i + 500])
        found.update(conn.execute(f"SELECT {select} FROM {table} WHERE {column} IN "
                                  "(SELECT value FROM json_each(?))", (batch,)).fetchall())
    return found


def _write(db: Any, parsed: _Parsed) -> tuple[int, int]:
    conn = db.conn
    for ln in parsed.lines:
        ln.line_key, ln.sale_key = _digest(ln.line_key), _digest(ln.sale_key)
    known_lines = set(_existing(conn, "import_lines", "line_key",
                                list({ln.line_key for ln in parsed.lines})))
    sale_ids = _existing(conn, "import_sales", "sale_key",
                         list({ln.sale_key for ln in parsed.lines}), "sale_id")
    next_sale = (conn.execute("SELECT MAX(sale_id) FROM sales").fetchone()[0] or 0) + 1
    next_line = (conn.execute("SELECT MAX(line_id) FROM sale_lines").fetchone()[0] or 0) + 1
    sales, lines, keys, new_sale_keys = [], [], [], []
    products: dict[str, dict[str, Any]] = {}
    for ln in parsed.lines:
        if ln.line_key in known_lines:
            continue
        known_lines.add(ln.line_key)
        sid = sale_ids.get(ln.sale_key)
        if sid is None:
            sid = sale_ids[ln.sale_key] = next_sale
            next_sale += 1
            new_sale_keys.append({"sale_key": ln.sale_key, "sale_id": sid})
            sales.append({"sale_id": sid, "register_id": ln.register, "cashier_id": None,
                          "customer_id": None, "opened_at": ln.when, "closed_at": ln.when,
                          "status": ln.status})
        lines.append({"line_id": next_line, "sale_id": sid, "sku": ln.sku, "qty": ln.qty,
                      "unit_price": ln.price or 0.0, "voided": 0})
        keys.append({"line_key": ln.line_key, "line_id": next_line})
        next_line += 1
        prod = products.setdefault(ln.sku, {"sku": ln.sku, "name": ln.name,
                                            "category": ln.category, "family": "",
                                            "price": 0.0, "cost": None, "stock": None,
                                            "active": 1, "barcode": ln.barcode or None})
        # the newest line's name, category and price describe the product
        prod["name"], prod["category"] = ln.name, ln.category or prod["category"]
        if ln.price is not None and ln.qty > 0:
            prod["price"] = ln.price
        if ln.cost is not None and ln.qty > 0:
            prod["cost"] = ln.cost
        if ln.barcode:
            prod["barcode"] = ln.barcode
    if products:
        old = {r["sku"]: r for r in db["products"].rows_where(
            "sku IN (SELECT value FROM json_each(?))", [_json_list(products)])}
        for sku, prod in products.items():
            before = old.get(sku)
            if before is not None:
                for k in ("cost", "barcode"):
                    if prod[k] is None:
                        prod[k] = before.get(k)
                if not prod["price"]:
                    prod["price"] = before.get("price") or 0.0
                prod["stock"], prod["active"] = before.get("stock"), before.get("active", 1)
        db["products"].upsert_all(products.values(), pk="sku")
    # the bulk rows go straight to SQLite (sqlite-utils' per-value checks cost 3x here)
    conn.executemany("INSERT INTO sales VALUES (:sale_id, :register_id, :cashier_id, "
                     ":customer_id, :opened_at, :closed_at, :status)", sales)
    conn.executemany("INSERT INTO sale_lines VALUES (:line_id, :sale_id, :sku, :qty, "
                     ":unit_price, :voided)", lines)
    conn.executemany("INSERT INTO import_sales VALUES (:sale_key, :sale_id)", new_sale_keys)
    conn.executemany("INSERT INTO import_lines VALUES (:line_key, :line_id)", keys)
    return len(lines), len(sales)


def _json_list(products: dict[str, Any]) -> str:
    import json

    return json.dumps(list(products))


def import_folder(folder: str | Path, database: str | Path, fmt: str | None = None,
                  day_first: bool | None = None
                  ) -> tuple[list[ImportResult], list[CsvImportError]]:
    """Every ``*.csv`` in a drop folder, oldest first, each on its own (a bad file is
    reported and left, the others are imported). Files imported before add nothing."""
    base = Path(folder)
    if not base.is_dir():
        raise CsvImportError(f"{base}: not a folder")
    files = sorted((p for p in base.iterdir() if p.suffix.lower() == ".csv" and p.is_file()),
                   key=lambda p: (p.stat().st_mtime, p.name))
    done: list[ImportResult] = []
    bad: list[CsvImportError] = []
    for f in files:
        try:
            done.append(import_export(f, database, fmt, day_first))
        except CsvImportError as exc:
            bad.append(exc)
    return done, bad


__all__ = ["FORMATS", "IMPORTED_TILL", "CsvImportError", "ImportResult", "detect_format",
           "import_export", "import_folder", "parse_export", "parse_number"]
