"""Reading the till: read-only, messy lines excluded, mapped schemas, clear errors."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from conftest import PRODUCTS, file_hash, make_till, pattern_baskets
from possuggest.core.config import TillMapping, TillSettings
from possuggest.core.errors import TillError
from possuggest.till.reader import open_till


def test_reads_closed_sales_without_voids_or_returns(till: Path) -> None:
    with open_till(till) as t:
        tx = t.read_transactions()
        products = t.read_products()
    baskets = tx.baskets()
    assert tx.n_baskets == 400 + 1           # pattern baskets + the messy closed sale
    messy = baskets[-1]
    assert messy == ["TAPE"]                 # voided BITS line and SPARK return left out
    assert products["SPARK"].stock == 0
    assert not products["OLD"].active
    assert tx.basket_time is not None and not any(v != v for v in tx.basket_time)


def test_reads_open_sale_of_register(tmp_path: Path) -> None:
    path = make_till(tmp_path / "t.db", open_sale=["MOW-STD", "OIL-4T"], register="2")
    with open_till(path, TillSettings(register="2")) as t:
        sale = t.read_open_sale()
        assert sale.skus == ["MOW-STD", "OIL-4T"]
        assert t.read_open_sale("1").sale_id is None


def test_window_keeps_recent_sales(till: Path) -> None:
    with open_till(till) as t:
        all_tx = t.read_transactions(None)
        recent = t.read_transactions(30)
    assert 0 < recent.n_baskets < all_tx.n_baskets


def _custom_till(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE items (code TEXT, title TEXT, grp TEXT, retail REAL, qoh INTEGER);
        CREATE TABLE tickets (id INTEGER, done TEXT, state TEXT, reg TEXT);
        CREATE TABLE ticket_items (ticket INTEGER, code TEXT, n REAL);
    """)
    conn.executemany("INSERT INTO items VALUES (?,?,?,?,?)",
                     [(p[0], p[1], p[2], p[4], p[6]) for p in PRODUCTS])
    for i, b in enumerate(pattern_baskets(100)):
        conn.execute("INSERT INTO tickets VALUES (?,?,?,?)", (i, f"2026-03-01T10:{i % 60:02d}:00", "done", "A"))
        conn.executemany("INSERT INTO ticket_items VALUES (?,?,1)", [(i, s) for s in b])
    conn.execute("INSERT INTO tickets VALUES (999, NULL, 'open', 'A')")
    conn.execute("INSERT INTO ticket_items VALUES (999, 'DRILL-18V', 1)")
    conn.commit()
    conn.close()
    return path


MAPPING = TillMapping(
    sale_lines="SELECT t.id AS sale_id, i.code AS sku, i.n AS qty, t.done AS closed_at "
               "FROM ticket_items i JOIN tickets t ON t.id = i.ticket WHERE t.state = 'done'",
    products="SELECT code AS sku, title AS name, grp AS category, '' AS family, retail AS price, "
             "NULL AS cost, qoh AS stock, 1 AS active FROM items",
    open_sale="SELECT t.id AS sale_id, i.code AS sku, i.n AS qty FROM ticket_items i "
              "JOIN tickets t ON t.id = i.ticket WHERE t.state = 'open' AND t.reg = :register",
)


def test_mapped_schema(tmp_path: Path) -> None:
    path = _custom_till(tmp_path / "custom.db")
    with open_till(path, TillSettings(register="A", mapping=MAPPING)) as t:
        tx = t.read_transactions()
        assert tx.n_baskets == 100
        assert t.read_products()["MOW-STD"].price == 249.0
        assert t.read_open_sale().skus == ["DRILL-18V"]


def test_mapped_query_missing_column_is_named(tmp_path: Path) -> None:
    path = _custom_till(tmp_path / "custom.db")
    bad = TillMapping(sale_lines=MAPPING.sale_lines.replace("i.n AS qty", "i.n AS amount"),
                      products=MAPPING.products, open_sale=MAPPING.open_sale)
    with pytest.raises(TillError, match=r"'sale_lines' lacks column\(s\): qty"):
        open_till(path, TillSettings(mapping=bad))


def test_reference_schema_missing_table_says_map_it(tmp_path: Path) -> None:
    path = _custom_till(tmp_path / "custom.db")
    with pytest.raises(TillError, match=r"no such table.*\[till.mapping\]"):
        open_till(path)


def test_missing_and_not_sqlite(tmp_path: Path) -> None:
    with pytest.raises(TillError, match="not found"):
        open_till(tmp_path / "missing.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(TillError, match="not a usable SQLite database"):
        open_till(junk)


def test_locked_by_writer(till: Path) -> None:
    writer = sqlite3.connect(till, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(TillError, match="locked by another program"):
            open_till(till, TillSettings(busy_timeout_ms=50)).read_transactions()
    finally:
        writer.execute("ROLLBACK")
        writer.close()


@pytest.mark.parametrize("wal", [False, True])
def test_reading_never_changes_the_till(tmp_path: Path, wal: bool) -> None:
    path = make_till(tmp_path / "till.db", wal=wal, open_sale=["MOW-STD"])
    before = file_hash(path)
    with open_till(path) as t:
        t.read_transactions(365)
        t.read_products()
        t.read_open_sale()
        t.data_version()
    assert file_hash(path) == before
    assert [p.name for p in tmp_path.iterdir()] == ["till.db"]     # no -wal/-shm left


def test_reader_holds_no_lock_between_reads(till: Path) -> None:
    """After a read the till can write at once: no transaction is left open."""
    reader = open_till(till)
    reader.read_transactions()
    writer = sqlite3.connect(till, timeout=0, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")     # fails at once if the reader held a lock
    writer.execute("ROLLBACK")
    writer.close()
    reader.close()


def test_data_version_changes_on_commit(till: Path) -> None:
    reader = open_till(till)
    v1 = reader.data_version()
    done = threading.Event()

    def write() -> None:
        c = sqlite3.connect(till)
        c.execute("UPDATE products SET stock = stock + 1 WHERE sku = 'TAPE'")
        c.commit()
        c.close()
        done.set()

    threading.Thread(target=write).start()
    assert done.wait(10)
    assert reader.data_version() != v1
    reader.close()
