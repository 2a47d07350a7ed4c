"""Tests for the demo store builder and its shopping model (real SQLite files in tmp_path)."""

from __future__ import annotations

import datetime as dt
import importlib.resources
import re
import sqlite3
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from possuggest.core.errors import Cancelled
from possuggest.demo.catalogue import (
    CATALOGUE_FILE,
    DATA_DIR,
    DATA_PACKAGE,
    SHOPPING_FILE,
    DemoDataError,
    load_demo_data,
    parse_demo_data,
)
from possuggest.demo.generator import DemoStoreModel, DemoSummary, build_demo_store
from possuggest.till.reader import TillReader
from possuggest.till.schema import PRODUCT_COLUMNS, REFERENCE_DDL

END = dt.date(2025, 6, 30)
MINED = ("SELECT l.sale_id, l.sku FROM sale_lines l JOIN sales s ON s.sale_id = l.sale_id "
         "WHERE s.status = 'closed' AND l.voided = 0 AND l.qty > 0")
TIERED = ("mowers", "drills", "grills", "interior paint", "trimmers", "pressure washers",
          "ladders", "heaters")


def _rows(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _baskets(path: Path) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for sid, sku in _rows(path, MINED):
        out.setdefault(sid, set()).add(sku)
    return out


def _dump(path: Path) -> dict[str, list[tuple]]:
    return {t: _rows(path, f"SELECT * FROM {t} ORDER BY 1")
            for t in ("products", "sales", "sale_lines")}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "small.db"
    build_demo_store(path, sales=3000, seed=7, end_date=END)
    return path


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "big.db"
    build_demo_store(path, sales=40_000, seed=7, end_date=END)
    return path


# -- determinism ------------------------------------------------------------------------------
def test_same_seed_gives_identical_tables(tmp_path: Path, small: Path) -> None:
    again = tmp_path / "again.db"
    build_demo_store(again, sales=3000, seed=7, end_date=END)
    assert _dump(again) == _dump(small)


def test_different_seed_gives_different_sales(tmp_path: Path, small: Path) -> None:
    other = tmp_path / "other.db"
    build_demo_store(other, sales=3000, seed=8, end_date=END)
    a, b = _dump(small), _dump(other)
    assert a["sales"] != b["sales"]
    assert a["sale_lines"] != b["sale_lines"]
    # the catalogue is the same store; only stock levels depend on the seed
    assert [r[:6] for r in a["products"]] == [r[:6] for r in b["products"]]


# -- schema -----------------------------------------------------------------------------------
def test_schema_matches_reference(small: Path) -> None:
    ref = sqlite3.connect(":memory:")
    ref.executescript(REFERENCE_DDL)
    for table in ("products", "sales", "sale_lines"):
        want = ref.execute(f"PRAGMA table_info({table})").fetchall()
        assert _rows(small, f"PRAGMA table_info({table})") == want, table
    want_idx = {r[0] for r in ref.execute(
        "SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL")}
    have_idx = {r[0] for r in _rows(
        small, "SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL")}
    assert want_idx == have_idx == {"sale_lines_sale", "sales_open"}
    assert _rows(small, "PRAGMA journal_mode")[0][0] == "delete"
    assert _rows(small, "PRAGMA integrity_check")[0][0] == "ok"
    assert _rows(small, "PRAGMA foreign_key_check") == []


def test_no_temp_files_left(small: Path) -> None:
    assert sorted(p.name for p in small.parent.iterdir()) == [small.name]


def test_summary_counts(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    summary = build_demo_store(path, sales=500, seed=3, end_date=END)
    assert isinstance(summary, DemoSummary)
    assert summary.path == path
    assert summary.sales == _rows(path, "SELECT COUNT(*) FROM sales")[0][0] == 500
    assert summary.lines == _rows(path, "SELECT COUNT(*) FROM sale_lines")[0][0]
    assert summary.products == _rows(path, "SELECT COUNT(*) FROM products")[0][0]
    assert summary.seconds > 0


def test_zero_sales_gives_catalogue_only(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    summary = build_demo_store(path, sales=0, end_date=END)
    assert summary.sales == summary.lines == 0
    assert _rows(path, "SELECT COUNT(*) FROM products")[0][0] > 300


# -- catalogue --------------------------------------------------------------------------------
def _data_text(name: str) -> str:
    ref = importlib.resources.files(DATA_PACKAGE)
    for part in (*DATA_DIR, name):
        ref = ref / part
    return ref.read_text(encoding="utf-8")


def test_catalogue_loads_from_the_data_files() -> None:
    data = load_demo_data()
    assert load_demo_data() is data                    # read once, then cached
    csv_text, toml_text = _data_text(CATALOGUE_FILE), _data_text(SHOPPING_FILE)
    assert parse_demo_data(csv_text, toml_text) == data
    assert len(data.products) == 498 == len(csv_text.strip().splitlines()) - 1
    assert len({p.category for p in data.products}) == 14
    assert len(data.missions) == 63
    assert len(data.seasons) == 16 and all(len(v) == 12 for v in data.seasons.values())
    assert len(data.everyday) == 50 and len(data.showcase) == 8 and len(data.discontinued) == 5
    assert sum(p.family is not None for p in data.products) == 201
    assert sum(p.qty_p > 0 for p in data.products) == 141
    # the model is built from exactly these rows, in file order
    model = DemoStoreModel(7, END)
    assert model.skus == [p.sku for p in data.products]
    assert [(r["name"], r["category"], r["family"], r["price"]) for r in model.products] == \
        [(p.name, p.category, p.family, p.price) for p in data.products]
    mower = data.products[0]
    assert (mower.sku, mower.name, mower.category, mower.family, mower.price) == \
        ("MOW-STD", "Petrol Lawn Mower 41cm", "Garden Power", "mowers", 229.0)
    # the shorthand forms in shopping.toml
    by_name = {m.name: m for m in data.missions}
    assert by_name["top-up"].core == data.everyday
    patio = by_name["patio"]
    base = next(a for a in patio.accs if a.alts == ("PARASOL-BASE",))
    assert base.prob == tuple(0.55 if c == "PARASOL" else 0.0 for c in patio.core)
    kit = by_name["lawn care"].accs[0]
    assert kit.alts == ("SPREADER",) and kit.prob == (0.08,) * len(by_name["lawn care"].core)
    rollers = by_name["paint a room"].accs[0]
    assert rollers.alts == ("ROL-SET", "ROL-SLEEVE") and rollers.alt_p == (0.8, 0.2)


@pytest.mark.parametrize(("file", "old", "new", "message"), [
    ("csv", "sku,name,", "code,name,", "header"),
    ("csv", "MOW-DLX,", "MOW-STD,", "listed twice"),
    ("csv", "229.00", "cheap", "not a number"),
    ("toml", '"MOW-CATCH",    p', '"MOW-CATCHER",  p', "MOW-CATCHER is not in catalogue.csv"),
    ("toml", 'season = "mowing"', 'season = "monsoon"', "unknown season"),
    ("toml", "core_weights = [0.55, 0.30, 0.15]", "core_weights = [0.55, 0.30]",
     "2 values for 3 core items"),
    ("toml", '"MOW-CATCH",    p = [0.38, 0.30, 0.12]', '"MOW-CATCH",    p = [0.38, 0.30]',
     "2 values for 3 core items"),
    ("toml", '"PARASOL-BASE", p = { PARASOL = 0.55 }', '"PARASOL-BASE", p = { PARASOLS = 0.55 }',
     "not core items"),
    ("toml", "second_p = 0.02", "second_p = 2", "not a number 0..1"),
    ("toml", "extra_picks = 0.4", "extra_pick = 0.4", "unknown key 'extra_pick'"),
    ("toml", "\n[seasons]\n", "\n[seasons\n", "shopping.toml"),
])
def test_bad_demo_data_is_reported(file: str, old: str, new: str, message: str) -> None:
    texts = {"csv": _data_text(CATALOGUE_FILE), "toml": _data_text(SHOPPING_FILE)}
    assert old in texts[file]
    texts[file] = texts[file].replace(old, new, 1)
    with pytest.raises(DemoDataError, match=re.escape(message)):
        parse_demo_data(texts["csv"], texts["toml"])


def test_catalogue_size_and_categories(small: Path) -> None:
    n, cats = _rows(small, "SELECT COUNT(*), COUNT(DISTINCT category) FROM products")[0]
    assert 300 <= n <= 500
    assert 10 <= cats <= 16
    assert _rows(small, "SELECT COUNT(*) FROM products WHERE category IS NULL OR name = ''")[0][0] \
        == 0


def test_tiered_families(small: Path) -> None:
    fams: dict[str, list[float]] = {}
    for fam, price in _rows(small, "SELECT family, price FROM products "
                                   "WHERE family IS NOT NULL AND active = 1"):
        fams.setdefault(fam, []).append(price)
    for fam in TIERED:
        prices = sorted(fams[fam])
        assert 2 <= len(prices) <= 3, fam
        for lo, hi in zip(prices, prices[1:], strict=False):
            assert 1.3 <= hi / lo <= 2.5, (fam, lo, hi)
    assert sum(len(p) >= 2 for p in fams.values()) >= 15


def test_prices_and_margins(small: Path) -> None:
    rows = _rows(small, "SELECT sku, price, cost FROM products")
    for sku, price, cost in rows:
        assert price > 0 and cost > 0, sku
        assert 0.19 <= 1 - cost / price <= 0.61, sku
    assert all(re.fullmatch(r"[A-Z0-9][A-Z0-9.\-]+", sku) for sku, _, _ in rows)


def test_stock_out_of_stock_and_inactive(small: Path) -> None:
    model = DemoStoreModel(7, END)
    rows = _rows(small, "SELECT sku, stock, active FROM products")
    active = [r for r in rows if r[2] == 1]
    out = {r[0] for r in active if r[1] == 0}
    assert 0.02 <= len(out) / len(active) <= 0.06
    assert all(0 <= r[1] <= 200 for r in rows)
    # some accessory that a mission adds with probability >= 0.2 is out of stock
    accessories = {model.skus[a] for m in model._missions for alts, _, prob in m["accs"]
                   if prob.max() >= 0.2 for a in alts}
    assert out & accessories
    inactive = [r[0] for r in rows if r[2] == 0]
    assert 1 <= len(inactive) <= 10
    # discontinued products still appear in old sales
    sold = {r[0] for r in _rows(small, "SELECT DISTINCT sku FROM sale_lines WHERE qty > 0")}
    assert set(inactive) & sold
    assert model.products == [
        dict(zip(PRODUCT_COLUMNS, r, strict=True))
        for r in _rows(small, f"SELECT {', '.join(PRODUCT_COLUMNS)} FROM products ORDER BY rowid")]


def test_discontinued_not_sold_after_switch(big: Path) -> None:
    # the halogen bulb was replaced by an LED 560 days before the end; sales (not returns) of
    # it stop then, and the LED starts
    cut = (END - dt.timedelta(days=560)).isoformat()
    late_old = _rows(big, "SELECT COUNT(*) FROM sale_lines l JOIN sales s USING (sale_id) "
                          "WHERE sku = 'HAL-E27-42W' AND qty > 0 AND s.closed_at >= ?", (cut,))
    early_new = _rows(big, "SELECT COUNT(*) FROM sale_lines l JOIN sales s USING (sale_id) "
                           "WHERE sku = 'LED-E27-9W' AND qty > 0 AND voided = 0 "
                           "AND s.closed_at < ?", (cut,))
    assert late_old[0][0] == 0
    assert early_new[0][0] == 0
    assert _rows(big, "SELECT COUNT(*) FROM sale_lines WHERE sku = 'HAL-E27-42W'")[0][0] > 0


# -- till mess --------------------------------------------------------------------------------
def test_till_mess_present(big: Path) -> None:
    lines, voided, returns, multi = _rows(
        big, "SELECT COUNT(*), SUM(voided), SUM(qty < 0), SUM(qty > 1) FROM sale_lines")[0]
    assert 0.005 <= voided / lines <= 0.02
    assert 0.002 <= returns / lines <= 0.012
    assert 0.01 <= multi / lines <= 0.15
    statuses = dict(_rows(big, "SELECT status, COUNT(*) FROM sales GROUP BY status"))
    assert set(statuses) == {"closed", "void"}
    assert 0.002 <= statuses["void"] / sum(statuses.values()) <= 0.01
    # returns are mostly in a sale of their own
    own = _rows(big, "SELECT COUNT(*) FROM sale_lines l WHERE qty < 0 AND NOT EXISTS "
                     "(SELECT 1 FROM sale_lines m WHERE m.sale_id = l.sale_id AND m.qty > 0)")
    assert own[0][0] / returns >= 0.7
    # qty > 1 mostly on fasteners, paint and other consumables, never on a mower
    cats = Counter(r[0] for r in _rows(big, "SELECT category FROM sale_lines JOIN products "
                                            "USING (sku) WHERE qty > 1"))
    assert cats["Fasteners"] > 0 and cats["Paint & Decor"] > 0
    assert _rows(big, "SELECT COUNT(*) FROM sale_lines WHERE qty > 1 AND sku LIKE 'MOW-%'"
                      " AND sku IN ('MOW-STD', 'MOW-DLX', 'MOW-PRO')")[0][0] == 0
    # some lines are discounted, most are at list price
    disc = _rows(big, "SELECT AVG(unit_price < price) FROM sale_lines JOIN products USING (sku) "
                      "WHERE qty > 0")[0][0]
    assert 0.01 <= disc <= 0.06


def test_people_registers_and_basket_sizes(big: Path) -> None:
    regs = {r[0] for r in _rows(big, "SELECT DISTINCT register_id FROM sales")}
    assert regs == {"1", "2", "3", "4"}
    cashiers = {r[0] for r in _rows(big, "SELECT DISTINCT cashier_id FROM sales")}
    assert cashiers == {f"C{i:02d}" for i in range(1, 11)}
    n, with_card, cards = _rows(
        big, "SELECT COUNT(*), COUNT(customer_id), COUNT(DISTINCT customer_id) FROM sales")[0]
    assert 0.20 <= with_card / n <= 0.30
    assert 500 <= cards <= 5000
    assert all(re.fullmatch(r"L\d{6}", r[0]) for r in _rows(
        big, "SELECT DISTINCT customer_id FROM sales WHERE customer_id IS NOT NULL LIMIT 50"))
    sizes = np.array([len(b) for b in _baskets(big).values()])
    assert 2.5 <= sizes.mean() <= 3.5
    assert np.mean((sizes >= 1) & (sizes <= 6)) >= 0.95


# -- time -------------------------------------------------------------------------------------
def test_dates_within_range_and_hours(small: Path) -> None:
    rows = _rows(small, "SELECT opened_at, closed_at FROM sales")
    iso = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
    first = dt.datetime.combine(END - dt.timedelta(days=729), dt.time(8, 0))
    last = dt.datetime.combine(END, dt.time(20, 0))
    for opened, closed in rows:
        assert iso.fullmatch(opened) and iso.fullmatch(closed)
        o, c = dt.datetime.fromisoformat(opened), dt.datetime.fromisoformat(closed)
        assert first <= o <= c <= last
        assert dt.time(8, 0) <= o.time() and c.time() <= dt.time(20, 0)
        assert (c - o) <= dt.timedelta(minutes=20)
    span = (dt.datetime.fromisoformat(max(r[1] for r in rows))
            - dt.datetime.fromisoformat(min(r[0] for r in rows)))
    assert span.days >= 700
    # sale ids follow the clock
    ids = _rows(small, "SELECT sale_id FROM sales ORDER BY opened_at, sale_id")
    assert [r[0] for r in ids] == sorted(r[0] for r in ids)


def test_default_end_date_is_today(tmp_path: Path) -> None:
    path = tmp_path / "today.db"
    build_demo_store(path, sales=300)
    newest = _rows(path, "SELECT MAX(closed_at) FROM sales")[0][0]
    assert dt.date.fromisoformat(newest[:10]) <= dt.date.today()
    assert dt.date.fromisoformat(newest[:10]) >= dt.date.today() - dt.timedelta(days=10)


def test_weekends_busier(big: Path) -> None:
    by_dow = dict(_rows(big, "SELECT strftime('%w', opened_at), COUNT(*) FROM sales GROUP BY 1"))
    weekday = np.mean([by_dow[d] for d in "12345"])
    assert by_dow["6"] > 1.4 * weekday
    assert by_dow["0"] > 1.15 * weekday


def test_seasonality(big: Path) -> None:
    def per_month(skus: tuple[str, ...]) -> Counter:
        marks = ", ".join("?" * len(skus))
        return Counter(dict(_rows(
            big, f"SELECT substr(s.closed_at, 6, 2), COUNT(*) FROM sale_lines l JOIN sales s "
                 f"USING (sale_id) WHERE l.qty > 0 AND l.sku IN ({marks}) GROUP BY 1", skus)))

    mowers = per_month(("MOW-STD", "MOW-DLX", "MOW-PRO"))
    assert mowers["06"] > 5 * max(1, mowers["12"])
    grills = per_month(("GRL-CHAR", "GRL-GAS2", "GRL-GAS4"))
    assert grills["07"] > 5 * max(1, grills["01"])
    heaters = per_month(("HTR-FAN", "HTR-OIL", "HTR-CER"))
    assert heaters["12"] > 5 * max(1, heaters["06"])
    salt = per_month(("SALT-10", "SALT-25", "DEICE-SPRAY"))
    assert salt["01"] > 5 * max(1, salt["07"])


# -- relations --------------------------------------------------------------------------------
def test_accessory_relations(big: Path) -> None:
    baskets = list(_baskets(big).values())
    n = len(baskets)

    def conf(x: set[str], y: str) -> tuple[float, int]:
        with_x = [b for b in baskets if b & x]
        return sum(y in b for b in with_x) / max(1, len(with_x)), len(with_x)

    def support(y: str) -> float:
        return sum(y in b for b in baskets) / n

    c, nx = conf({"MOW-STD", "MOW-DLX", "MOW-PRO"}, "MOW-CATCH")
    assert nx > 100
    assert c > 0.2 and c > 8 * support("MOW-CATCH")
    assert conf({"DRL-18V-BASIC"}, "DRL-BITS")[0] > 8 * support("DRL-BITS")
    assert conf({"GRL-CHAR"}, "CHAR-5KG")[0] > 5 * support("CHAR-5KG")
    assert conf({"PNT-EMUL-STD", "PNT-EMUL-DLX"}, "ROL-SET")[0] > 5 * support("ROL-SET")
    # tier-specific: the mulching kit goes with the pro mower only
    assert conf({"MOW-PRO"}, "MOW-MULCH")[0] > 0.2
    assert conf({"MOW-STD"}, "MOW-MULCH")[0] < 0.03
    # gas grills take gas, the charcoal grill takes charcoal
    assert conf({"GRL-GAS2", "GRL-GAS4"}, "GAS-PROP-5")[0] > 5 * conf({"GRL-CHAR"},
                                                                       "GAS-PROP-5")[0]


def test_upgrade_tiers(big: Path) -> None:
    baskets = list(_baskets(big).values())
    for tiers in (("MOW-STD", "MOW-DLX", "MOW-PRO"), ("DRL-18V-BASIC", "DRL-18V-COMBI",
                                                      "DRL-18V-PRO")):
        counts = [sum(t in b for b in baskets) for t in tiers]
        assert counts[0] > counts[1] > counts[2] > 0
        buyers = [b for b in baskets if b & set(tiers)]
        both = sum(len(b & set(tiers)) >= 2 for b in buyers)
        assert both / len(buyers) < 0.06
        # "1 in N buyers choose the better tier": N between about 2 and 10
        assert 0.1 <= counts[1] / len(buyers) <= 0.5


def test_ground_truth_table_matches_the_sales(big: Path) -> None:
    """The demo_relations table is the model's relations, and its accessory pairs are what
    the sales show: the accessory sells far more often with its core item than without. (Not
    every pair: an item that is core in a small mission but sold mostly elsewhere dilutes it,
    e.g. a dust mask, core of "hand tools", sold mostly with sanders -> knife blades.)"""
    rel = DemoStoreModel(7, END).relations()
    rows = _rows(big, "SELECT a, b, kind FROM demo_relations ORDER BY a, b, kind")
    assert rows == sorted(rel.rows())
    chance = {(c, a): p for m in load_demo_data().missions for acc in m.accs
              for c, p in zip(m.core, acc.prob) for a in acc.alts}
    baskets = list(_baskets(big).values())
    n = len(baskets)
    checked, strong = 0, 0
    for c, a in sorted(rel.accessory):
        with_c = [b for b in baskets if c in b]
        if chance.get((c, a), 0) < 0.2 or len(with_c) < 100:
            continue
        conf = sum(a in b for b in with_c) / len(with_c)
        strong += conf > 3 * sum(a in b for b in baskets) / n
        checked += 1
    assert checked > 20 and strong >= 0.9 * checked


def test_till_reader_reads_it(small: Path) -> None:
    with TillReader(small) as reader:
        tx = reader.read_transactions()
        products = reader.read_products()
    assert tx.n_baskets == len(_baskets(small))
    assert len(products) == _rows(small, "SELECT COUNT(*) FROM products")[0][0]
    assert not np.isnan(tx.basket_time).any()


# -- progress and cancel ----------------------------------------------------------------------
def test_progress_reported(tmp_path: Path) -> None:
    seen: list[tuple[float, str]] = []
    build_demo_store(tmp_path / "p.db", sales=1000, end_date=END,
                     progress=lambda f, m: seen.append((f, m)))
    fracs = [f for f, _ in seen]
    assert fracs == sorted(fracs)
    assert fracs[0] == 0.0 and fracs[-1] == 1.0
    assert all(isinstance(m, str) and m for _, m in seen)


def test_cancel_at_every_check_leaves_no_file(tmp_path: Path) -> None:
    calls = {"n": 0}

    def counting() -> bool:
        calls["n"] += 1
        return False

    build_demo_store(tmp_path / "full.db", sales=2000, end_date=END, cancelled=counting)
    checks = calls["n"]
    assert checks >= 4
    for after in range(checks):
        folder = tmp_path / f"c{after}"
        folder.mkdir()
        calls["n"] = 0

        def cancelled(after: int = after) -> bool:
            calls["n"] += 1
            return calls["n"] > after

        with pytest.raises(Cancelled):
            build_demo_store(folder / "c.db", sales=2000, end_date=END, cancelled=cancelled)
        assert list(folder.iterdir()) == [], after


def test_cancel_keeps_previous_database(tmp_path: Path) -> None:
    path = tmp_path / "keep.db"
    build_demo_store(path, sales=500, seed=1, end_date=END)
    before = path.read_bytes()
    calls = {"n": 0}

    def cancelled() -> bool:
        calls["n"] += 1
        return calls["n"] > 2

    with pytest.raises(Cancelled):
        build_demo_store(path, sales=2000, seed=2, end_date=END, cancelled=cancelled)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.db"]


def test_overwrites_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "over.db"
    path.write_text("not a database")
    (tmp_path / "over.db-journal").write_text("stale")
    build_demo_store(path, sales=400, end_date=END)
    assert _rows(path, "SELECT COUNT(*) FROM sales")[0][0] == 400
    assert sorted(p.name for p in tmp_path.iterdir()) == ["over.db"]


# -- the model the till simulator uses ----------------------------------------------------------
def test_sample_sale_valid() -> None:
    model = DemoStoreModel(7, END)
    by_sku = {p["sku"]: p for p in model.products}
    rng = np.random.default_rng(5)
    when = dt.datetime(2025, 7, 5, 11, 30)
    for _ in range(300):
        lines = model.sample_sale(rng, when)
        assert 1 <= len(lines) <= 20
        assert len({sku for sku, _, _ in lines}) == len(lines)
        for sku, qty, price in lines:
            p = by_sku[sku]
            assert p["active"] == 1 and p["stock"] > 0
            assert qty >= 1 and float(qty).is_integer()
            assert 0 < price <= p["price"]


def test_sample_sale_deterministic_and_seasonal() -> None:
    model = DemoStoreModel(7, END)
    when = dt.datetime(2025, 6, 14, 10, 0)
    a = [model.sample_sale(np.random.default_rng(9), when) for _ in range(3)]
    b = [model.sample_sale(np.random.default_rng(9), when) for _ in range(3)]
    assert a == b

    def count(month: int, skus: set[str], n: int = 3000) -> int:
        rng = np.random.default_rng(month)
        t = dt.datetime(2025, month, 14, 11, 0)
        return sum(bool(skus & {s for s, _, _ in model.sample_sale(rng, t)}) for _ in range(n))

    mowers = {"MOW-STD", "MOW-DLX", "MOW-PRO"}
    assert count(6, mowers) > 5 * max(1, count(12, mowers))


def test_sample_sale_uses_the_same_relations() -> None:
    model = DemoStoreModel(7, END)
    rng = np.random.default_rng(11)
    when = dt.datetime(2025, 6, 1, 12, 0)
    mowers = {"MOW-STD", "MOW-DLX", "MOW-PRO"}
    with_mower = with_catcher = 0
    for _ in range(6000):
        skus = {s for s, _, _ in model.sample_sale(rng, when)}
        if skus & mowers:
            with_mower += 1
            with_catcher += "MOW-CATCH" in skus
    assert with_mower > 150
    assert 0.2 <= with_catcher / with_mower <= 0.45


def test_sample_sale_can_include_out_of_stock() -> None:
    model = DemoStoreModel(7, END)
    out = {p["sku"] for p in model.products if p["stock"] == 0 and p["active"] == 1}
    rng = np.random.default_rng(2)
    when = dt.datetime(2025, 5, 1, 12, 0)
    seen = set()
    for _ in range(3000):
        seen |= {s for s, _, _ in model.sample_sale(rng, when, in_stock_only=False)}
    assert seen & out
