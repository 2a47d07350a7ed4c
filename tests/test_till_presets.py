"""Till presets on SQLite copies of each till's real table layout (tests/preset_fixtures.py):
one fake store through every preset gives the same baskets, products and rules; returns,
voids and each till's own noise are left out; barcodes, time zones, the store filter and
the mapping fixes (trailing ';', driver values, checks on every dialect) work; the till's
bytes never change."""

from __future__ import annotations

import datetime as dt
import sqlite3
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from preset_fixtures import (
    BY_SKU,
    LAYOUTS,
    OPEN_SALE,
    PRODUCTS,
    SALES,
    STORE_TZ,
    build_sqlite,
    expected_baskets,
    fixture_data,
    name_of,
)

from conftest import file_hash
from possuggest.cli.main import main
from possuggest.core.config import TILL_PRESETS, TillMapping, TillSettings, settings_from_dict
from possuggest.core.context_time import bucket_of
from possuggest.core.errors import ConfigError, TillError
from possuggest.core.products import Product, product_lookup
from possuggest.till.mapping import (
    clean_sql,
    normalise_rows,
    normalise_value,
    probe_sql,
    resolve_mapping,
    wall_clock_seconds,
)
from possuggest.till.presets import get_preset, preset_names, presets
from possuggest.till.reader import TillReader

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PRESETS = [x for x in LAYOUTS if x != "reference"]


def _settings(layout: str, **extra: Any) -> TillSettings:
    return TillSettings(**{**fixture_data(layout).settings, **extra})


@pytest.fixture(scope="module")
def tills(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every layout written once (the tests only read them; hashes prove it)."""
    folder = tmp_path_factory.mktemp("tills")
    out = {}
    for layout in LAYOUTS:
        out[layout] = folder / layout / f"{layout}.db"
        out[layout].parent.mkdir()
        build_sqlite(layout, out[layout])
    return out


def _read(path: Path, settings: TillSettings) -> tuple[dict[str, Product], Any, Any]:
    with TillReader(path, settings) as t:
        return t.read_products(), t.read_transactions(), t.read_open_sale()


# -- the registry ----------------------------------------------------------------------------------
def test_preset_names_are_the_configs() -> None:
    assert tuple(n for n in TILL_PRESETS if n) == tuple(preset_names())
    assert preset_names() == PRESETS
    for p in presets().values():
        assert p.runs_on and set(p.runs_on) <= set(p.dialects) and "sqlite" in p.dialects
        assert p.notes and p.checked and p.excluded and p.sku
        for q in p.dialects.values():
            assert not q.sale_lines.rstrip().endswith(";")


def test_unknown_preset_and_dialect_are_named() -> None:
    with pytest.raises(ConfigError, match=r"'till.preset': 'square' is not one of unicenta"):
        settings_from_dict({"till": {"preset": "square"}})
    with pytest.raises(TillError, match="unknown till preset 'nope'"):
        get_preset("nope")
    with pytest.raises(TillError, match=r"preset 'odoo' has no queries for mysql.*postgresql"):
        resolve_mapping(TillSettings(preset="odoo"), "mariadb")
    with pytest.raises(TillError, match="no till presets for the SQL dialect 'oracle'"):
        resolve_mapping(TillSettings(preset="ospos"), "oracle")


# -- one store, every preset -----------------------------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_reads_the_same_store(tills: dict[str, Path], layout: str) -> None:
    products, tx, _ = _read(tills[layout], _settings(layout))
    assert [name_of(products, b) for b in tx.baskets()] == expected_baskets()
    by_name = {p.name: p for p in products.values()}
    for fake in PRODUCTS:
        got = by_name[fake.name]
        assert got.category == fake.category
        assert got.price == pytest.approx(fake.price, abs=1e-6)       # uniCenta: net + tax
        assert got.cost == pytest.approx(fake.cost)
        assert got.stock == int(fake.stock)
        assert got.barcode == fake.barcode
        if layout != "unicenta":                    # uniCenta has no 'discontinued' flag
            assert got.active == fake.active
    times = wall_clock_seconds([s.when.isoformat() for s in SALES if s.kind == "sale"])
    # Odoo's UTC times converted back to the store's (timezone)
    assert np.allclose(tx.basket_time, times, rtol=0, atol=1e-3)


@pytest.mark.parametrize("layout", ["odoo", "dolibarr", "erpnext"])
def test_variants_share_a_family(tills: dict[str, Path], layout: str) -> None:
    products, _, _ = _read(tills[layout], _settings(layout))
    by_name = {p.name: p for p in products.values()}
    soil = {by_name["Potting Soil (10 L)"].family, by_name["Potting Soil (40 L)"].family}
    gloves = {by_name["Work Gloves (M)"].family, by_name["Work Gloves (L)"].family}
    assert len(soil) == len(gloves) == 1 and soil != gloves and "" not in soil | gloves
    assert by_name["Bird Seed per kg"].family == ""


def _layout_sale_id(layout: str, n: int) -> Any:
    return {"reference": n, "unicenta": str(uuid.UUID(int=10_000 + n)), "ospos": n,
            "odoo": n, "dolibarr": n, "erpnext": f"ACC-PSINV-2026-{n:05d}"}[layout]


_NOISE = {  # what each till writes besides the fake store's sales, never a sale
    "unicenta": ("SELECT COUNT(*) FROM tickets WHERE tickettype = 2", "payment-1"),
    "ospos": ("SELECT COUNT(*) FROM ospos_sales WHERE sale_type = 3 OR sale_status = 1", 9001),
    "dolibarr": ("SELECT COUNT(*) FROM llx_facture WHERE module_source IS NULL", 9001),
}
_MARKED = {  # how each till marks returns and voids, as the fixture wrote them
    "reference": ("SELECT COUNT(*) FROM sales WHERE status = 'void'",
                  "SELECT COUNT(*) FROM sale_lines WHERE qty < 0 OR voided = 1"),
    "unicenta": ("SELECT COUNT(*) FROM lineremoved", "SELECT COUNT(*) FROM tickets "
                 "WHERE tickettype = 1"),
    "ospos": ("SELECT COUNT(*) FROM ospos_sales WHERE sale_status = 2",
              "SELECT COUNT(*) FROM ospos_sales WHERE sale_type = 4"),
    "odoo": ("SELECT COUNT(*) FROM pos_order WHERE state IN ('cancel', 'draft')",
             "SELECT COUNT(*) FROM pos_order_line WHERE qty < 0"),
    "dolibarr": ("SELECT COUNT(*) FROM llx_facture WHERE fk_statut IN (0, 3)",
                 "SELECT COUNT(*) FROM llx_facture WHERE type = 2"),
    "erpnext": ('SELECT COUNT(*) FROM "tabPOS Invoice" WHERE docstatus IN (0, 2)',
                'SELECT COUNT(*) FROM "tabPOS Invoice" WHERE is_return = 1'),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_returns_voids_and_noise_are_left_out(tills: dict[str, Path], layout: str) -> None:
    conn = sqlite3.connect(f"file:{tills[layout]}?mode=ro", uri=True)
    try:
        for sql in _MARKED[layout]:
            assert conn.execute(sql).fetchone()[0] > 0, sql       # the fixture has them
        noise = _NOISE.get(layout)
        if noise:
            assert conn.execute(noise[0]).fetchone()[0] > 0
    finally:
        conn.close()
    _, tx, _ = _read(tills[layout], _settings(layout))
    read = set(tx.basket_ids.tolist())
    for s in SALES:
        assert (_layout_sale_id(layout, s.n) in read) == (s.kind == "sale"), (s.kind, s.n)
    if noise:
        assert noise[1] not in read
    # a voided mis-scan never reaches its basket
    voided = next(s for s in SALES if s.kind == "sale" and any(ln.voided for ln in s.lines))
    assert "Drill Bit Set" not in expected_baskets()[
        [s.n for s in SALES if s.kind == "sale"].index(voided.n)]


def _rules(data_dir: Path) -> tuple[list[tuple[Any, ...]], dict[Any, float]]:
    from possuggest.store.rule_store import RuleStore

    store = RuleStore(data_dir / "possuggest.db")
    try:
        arrays = store.load_active()
    finally:
        store.close()
    assert arrays is not None
    names = {sku: p.name for sku, p in arrays.products.items()}
    rules = sorted((str(k), tuple(sorted(names[s] for s in a)), names[str(c)], float(n),
                    round(float(conf), 9))
                   for k, a, c, n, conf in zip(arrays.kind, arrays.antecedent,
                                               arrays.consequent, arrays.count,
                                               arrays.confidence))
    context = {(b, names.get(s, s)): v for b, counts in arrays.context.items()
               for s, v in counts.items()}
    return rules, context


def _config(tmp: Path, layout: str, till: Path, **extra: str) -> Path:
    settings = {**fixture_data(layout).settings, **extra}
    cfg = tmp / f"{layout}.toml"
    cfg.write_text("[till]\n" + f"path = '{till}'\n"
                   + "".join(f'{k} = "{v}"\n' for k, v in settings.items()), encoding="utf-8")
    return cfg


@pytest.mark.slow
def test_same_rules_through_every_preset_and_the_till_never_changes(
        tills: dict[str, Path], tmp_path: Path) -> None:
    """Refresh through the CLI (services) from every layout: identical rules and time-of-day
    counts; every command leaves the till's bytes as they were and no file beside it."""
    results = {}
    for layout in LAYOUTS:
        till = tills[layout]
        before = file_hash(till)
        cfg = _config(tmp_path, layout, till)
        data = tmp_path / f"data-{layout}"
        common = ["--data-dir", str(data), "--config", str(cfg)]
        barcode = BY_SKU["DRILL-18V"].barcode
        for argv in (["refresh", "-q"], ["suggest", "--json", barcode], ["info"],
                     ["till", "presets"], ["rules", "--limit", "3"]):
            assert main([*argv, *common]) == 0, argv
            assert file_hash(till) == before, argv
        assert sorted(p.name for p in till.parent.iterdir()) == [till.name]
        results[layout] = _rules(data)
    reference = results["reference"]
    assert reference[0] and reference[1]
    for layout, got in results.items():
        assert got == reference, layout


def test_a_scanned_barcode_finds_its_product(tills: dict[str, Path], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    products, _, _ = _read(tills["ospos"], _settings("ospos"))
    lookup = product_lookup(products)
    drill = BY_SKU["DRILL-18V"]
    assert lookup[drill.barcode] == str(drill.n)                # OSPOS: the SKU is item_id
    assert lookup[drill.name.casefold()] == str(drill.n)
    cfg = _config(tmp_path, "ospos", tills["ospos"])
    common = ["--data-dir", str(tmp_path / "data"), "--config", str(cfg)]
    assert main(["suggest", "--json", drill.barcode, *common]) == 0
    out = capsys.readouterr().out
    assert "Drill Bit Set" in out                # the drill's bits, found from its barcode


def test_product_lookup_prefers_skus_then_barcodes_then_names() -> None:
    a = Product("A1", "Widget", barcode="B2")
    b = Product("B2", "A1")                     # a SKU that is another's barcode and name
    lookup = product_lookup({"A1": a, "B2": b})
    assert lookup == {"a1": "A1", "b2": "B2", "widget": "A1"}


# -- the open sale --------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
def test_open_sale_where_the_till_keeps_one(tills: dict[str, Path], layout: str) -> None:
    _, _, sale = _read(tills[layout], _settings(layout))
    if layout in ("reference", "dolibarr"):
        assert sale.sale_id == str(OPEN_SALE.n)
        assert sale.lines == tuple((ln.sku, ln.qty) for ln in OPEN_SALE.lines)
        with TillReader(tills[layout], _settings(layout, register="2")) as t:
            assert t.read_open_sale().sale_id is None
    else:
        assert sale.sale_id is None and not sale.lines
        assert resolve_mapping(_settings(layout)).open_sale is None


def test_mapping_open_sale_none(tills: dict[str, Path]) -> None:
    settings = TillSettings(mapping=TillMapping(open_sale="none"))
    with TillReader(tills["reference"], settings) as t:
        assert t.read_open_sale().sale_id is None
        assert t.read_transactions().n_baskets == len(expected_baskets())


# -- time zones ------------------------------------------------------------------------------------
def test_timezone_shifts_time_buckets(tills: dict[str, Path]) -> None:
    _, local, _ = _read(tills["odoo"], _settings("odoo"))            # Europe/Berlin
    _, utc, _ = _read(tills["odoo"], _settings("odoo", timezone="UTC"))
    _, ny, _ = _read(tills["odoo"], _settings("odoo", timezone="America/New_York"))
    _, ref, _ = _read(tills["reference"], _settings("reference", timezone="Asia/Tokyo"))
    assert np.allclose(local.basket_time - utc.basket_time, 2 * 3600, rtol=0, atol=1e-3)  # CEST
    assert np.allclose(utc.basket_time - ny.basket_time, 4 * 3600, rtol=0, atol=1e-3)
    # local times are never moved
    assert np.allclose(ref.basket_time, local.basket_time, rtol=0, atol=1e-3)
    buckets = {name: [bucket_of(t) for t in tx.basket_time]
               for name, tx in (("local", local), ("utc", utc), ("ny", ny))}
    assert buckets["local"] != buckets["utc"] != buckets["ny"]
    hours = {dt.datetime.fromtimestamp(t, tz=dt.timezone.utc).hour for t in local.basket_time}
    assert min(hours) == 8                      # the store opens at 8 local time


def test_times_with_offsets_and_mapping_times_utc() -> None:
    vals = ["2026-06-01T10:00:00+02:00", "2026-06-01 10:00:00Z", None, "garbage"]
    got = wall_clock_seconds(vals, "local", STORE_TZ)
    berlin = dt.datetime(2026, 6, 1, 10, 0).replace(tzinfo=dt.timezone.utc).timestamp()
    assert got[0] == berlin and got[1] == berlin + 2 * 3600
    assert np.isnan(got[2]) and np.isnan(got[3])
    aware = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.timezone.utc)
    naive_utc = wall_clock_seconds(["2026-01-05 09:30:00"], "utc", STORE_TZ)
    assert wall_clock_seconds([aware], "local", STORE_TZ)[0] == naive_utc[0]
    assert naive_utc[0] == dt.datetime(2026, 1, 5, 10, 30, tzinfo=dt.timezone.utc).timestamp()
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        settings_from_dict({"till": {"timezone": "Mars/Olympus"}})


# -- the store filter ---------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["ospos", "odoo", "dolibarr", "erpnext"])
def test_store_filter(tills: dict[str, Path], layout: str) -> None:
    annex = fixture_data(layout).annex
    assert annex
    products, tx, _ = _read(tills[layout], _settings(layout, store=annex))
    assert [name_of(products, b) for b in tx.baskets()] == expected_baskets("Annex")
    assert 0 < tx.n_baskets < len(expected_baskets())
    if layout != "dolibarr":                    # Dolibarr's stock is the product's total
        mower = {p.name: p for p in products.values()}["Lawn Mower Standard"]
        assert mower.stock == 12 - 12 * 3 // 4  # the Annex's share


@pytest.mark.parametrize("layout", ["reference", "unicenta"])
def test_store_without_a_filter_is_refused(tills: dict[str, Path], layout: str) -> None:
    with pytest.raises(TillError, match=r"till.store is set \('Annex'\) but .* no store filter"):
        TillReader(tills[layout], _settings(layout, store="Annex")).connect()


# -- mapping fixes: ';', comments, probes, parameters, driver values -------------------------------
def test_trailing_semicolon_and_comments_are_accepted(tills: dict[str, Path]) -> None:
    lines = ("SELECT l.sale_id AS sale_id, l.sku AS sku, l.qty AS qty, s.closed_at AS closed_at\n"
             "FROM sale_lines l JOIN sales s ON s.sale_id = l.sale_id  -- the header\n"
             "WHERE s.status = 'closed' AND l.voided = 0 AND l.qty > 0 -- mined lines")
    mapping = TillMapping(sale_lines=lines + " ;\n\n-- end of query\n;  ",
                          products="SELECT * FROM products;",
                          open_sale="SELECT sale_id, sku, qty FROM sale_lines WHERE 0;")
    with TillReader(tills["reference"], TillSettings(mapping=mapping)) as t:
        products = t.read_products()
        assert [name_of(products, b) for b in t.read_transactions().baskets()] == \
            expected_baskets()
        assert t.read_open_sale().sale_id is None
    assert clean_sql("SELECT 1;;  \n", "x") == "SELECT 1"
    assert clean_sql("SELECT ';' AS a; -- done", "x") == "SELECT ';' AS a"
    with pytest.raises(TillError, match="'sale_lines' holds more than one statement"):
        resolve_mapping(TillSettings(mapping=TillMapping(
            sale_lines="SELECT 1; DELETE FROM sales")))


def test_probe_has_an_alias_and_reads_nothing() -> None:
    sql = probe_sql("SELECT 1 AS a -- trailing comment")
    assert sql.endswith(") AS possuggest_probe WHERE 1=0")
    conn = sqlite3.connect(":memory:")
    cur = conn.execute(sql)
    assert [d[0] for d in cur.description] == ["a"] and cur.fetchall() == []


def test_unknown_parameter_is_named() -> None:
    with pytest.raises(TillError, match=r"'products': till query uses unknown parameter\(s\) "
                                        r":shop"):
        resolve_mapping(TillSettings(mapping=TillMapping(
            products="SELECT * FROM products WHERE shop = :shop AND x::text = '1:2'")))


def test_driver_values_are_normalised() -> None:
    stamp = dt.datetime(2026, 5, 2, 8, 0, 30)
    assert normalise_value(Decimal("3.000")) == 3 and normalise_value(Decimal("2.5")) == 2.5
    assert normalise_value(stamp) == "2026-05-02 08:00:30"
    assert normalise_value(dt.date(2026, 5, 2)) == "2026-05-02"
    assert normalise_value(dt.time(9, 5)) == "09:05:00"
    assert normalise_value(dt.timedelta(hours=9, minutes=5, seconds=7)) == "09:05:07"
    assert normalise_value(b"\x01") == 1 and normalise_value(b"abc") == "abc"
    rows = [(1, "a", 2.0)]
    assert normalise_rows(rows) is rows                     # plain rows are not copied


class _DriverReader(TillReader):
    """A reader whose rows come back as a server driver gives them: Decimal numbers and
    datetime times (as psycopg and PyMySQL do)."""

    def _fetchall(self, what: str, sql: str, params: Any) -> list[Any]:
        rows = super()._fetchall(what, sql, params)
        return [tuple(_as_driver(v) for v in row) for row in rows]


def _as_driver(v: Any) -> Any:
    if isinstance(v, float):
        return Decimal(repr(v))
    if isinstance(v, str) and len(v) == 19 and v[4] == "-" and v[10] in " T":
        return dt.datetime.fromisoformat(v)
    return v


@pytest.mark.parametrize("layout", ["ospos", "odoo", "erpnext", "dolibarr"])
def test_decimal_and_datetime_values_read_like_sqlite(tills: dict[str, Path],
                                                     layout: str) -> None:
    plain = _read(tills[layout], _settings(layout))
    with _DriverReader(tills[layout], _settings(layout)) as t:
        driver = t.read_products(), t.read_transactions(365), t.read_open_sale()
    assert driver[0] == plain[0]
    assert driver[1].baskets() == plain[1].baskets()
    assert np.allclose(driver[1].basket_time, plain[1].basket_time, rtol=0, atol=1e-3)
    assert driver[2] == plain[2]


# -- show-preset -----------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", PRESETS)
def test_show_preset_prints_a_mapping_that_reads_the_till(
        tills: dict[str, Path], layout: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["till", "show-preset", layout, "--dialect", "sqlite",
                 "--data-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    parsed = tomllib.loads(text)
    assert parsed["till"]["preset"] == layout
    del parsed["till"]["preset"]                   # the printed queries alone read the till
    settings = settings_from_dict(parsed).till
    settings.timezone = fixture_data(layout).settings.get("timezone", "")
    products, tx, _ = _read(tills[layout], settings)
    assert [name_of(products, b) for b in tx.baskets()] == expected_baskets()
    for dialect in get_preset(layout).runs_on:
        assert main(["till", "show-preset", layout, "--dialect", dialect,
                     "--data-dir", str(tmp_path)]) == 0
        tomllib.loads(capsys.readouterr().out)


def test_till_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["till", "presets", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in PRESETS:
        assert f" {name} " in out
    assert main(["till", "show-preset", "nope", "--data-dir", str(tmp_path)]) == 2
    assert "unknown till preset 'nope'" in capsys.readouterr().err
    assert main(["till", "show-preset", "ospos", "--dialect", "oracle",
                 "--data-dir", str(tmp_path)]) == 2
    assert "no till presets for the SQL dialect 'oracle'" in capsys.readouterr().err


def test_preset_plus_mapping_overrides_one_query(tills: dict[str, Path]) -> None:
    only_main = (get_preset("ospos").queries("sqlite").sale_lines
                 + " AND loc.location_name = 'Main'")
    settings = _settings("ospos", mapping=TillMapping(sale_lines=only_main))
    resolved = resolve_mapping(settings)
    assert resolved.products == get_preset("ospos").queries("sqlite").products.strip()
    assert "with [till.mapping]" in resolved.label
    products, tx, _ = _read(tills["ospos"], settings)
    assert [name_of(products, b) for b in tx.baskets()] == expected_baskets("Main")



def test_a_wal_till_is_read_without_a_trace(tmp_path: Path) -> None:
    """A preset till in WAL mode, closed cleanly: read through and through, its bytes stay
    and no -wal or -shm file is left beside it."""
    till = tmp_path / "dolibarr.db"
    build_sqlite("dolibarr", till, wal=True)
    before = file_hash(till)
    with TillReader(till, _settings("dolibarr")) as t:
        t.read_products()
        t.read_transactions(90)
        assert t.read_open_sale().sale_id == str(OPEN_SALE.n)
        t.data_version()
    assert file_hash(till) == before
    assert [p.name for p in tmp_path.iterdir()] == [till.name]


def test_the_panel_resolves_a_scanned_barcode(harness: Any, qtbot: Any, tmp_path: Path) -> None:
    """The cashier's scan box: a barcode (not the SKU) finds the product of a preset till."""
    from panel_harness import WAIT_MS, make_context

    from possuggest.ui.controller import PanelOptions

    till = tmp_path / "till" / "dolibarr.db"
    till.parent.mkdir()
    build_sqlite("dolibarr", till)
    ctx = make_context(tmp_path / "data", till, extra_config='preset = "dolibarr"\n')
    controller, _ = harness.open(ctx, PanelOptions(api_port=0))
    qtbot.waitUntil(lambda: "DRILL-18V" in controller.products, timeout=WAIT_MS)
    drill = BY_SKU["DRILL-18V"]
    assert controller.resolve(drill.barcode) == "DRILL-18V"
    assert controller.resolve(drill.name.upper()) == "DRILL-18V"
    assert controller.resolve("4009999999999") is None
