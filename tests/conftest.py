"""Shared test fixtures: small real till databases in the reference schema, data folders."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# the machine-wide config of whatever machine runs the tests must not leak into them
os.environ["POSSUGGEST_SITE_CONFIG"] = os.path.join(os.path.dirname(__file__), "no-site-config.toml")

from possuggest.till.schema import REFERENCE_DDL  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

PRODUCTS = [
    # sku, name, category, family, price, cost, stock, active
    ("MOW-STD", "Lawn Mower Standard", "Garden Power", "mower", 249.0, 160.0, 12, 1),
    ("MOW-DLX", "Lawn Mower Deluxe", "Garden Power", "mower", 369.0, 230.0, 5, 1),
    ("GRASS-CATCH", "Grass Catcher", "Garden Power", "", 39.0, 18.0, 20, 1),
    ("OIL-4T", "Engine Oil 4T", "Garden Power", "", 12.0, 5.0, 40, 1),
    ("SPARK", "Spark Plug", "Garden Power", "", 6.0, 2.0, 0, 1),          # out of stock
    ("DRILL-18V", "Cordless Drill 18V", "Power Tools", "drill", 99.0, 60.0, 8, 1),
    ("BITS", "Drill Bit Set", "Power Tools", "", 19.0, 7.0, 30, 1),
    ("BATT-18V", "Spare Battery 18V", "Power Tools", "", 49.0, 30.0, 10, 1),
    ("GLOVES", "Work Gloves", "Garden Care", "", 8.0, 3.0, 100, 1),
    ("TAPE", "Duct Tape", "Hardware", "", 5.0, 2.0, 100, 1),
    ("OLD", "Discontinued Rake", "Garden Care", "", 15.0, 6.0, 5, 0),     # inactive
]


def pattern_baskets(n: int = 400) -> list[list[str]]:
    """Deterministic baskets with clear relations: mower -> catcher/oil, drill -> bits, etc."""
    out: list[list[str]] = []
    for i in range(n):
        k = i % 20
        if k < 6:
            b = ["MOW-STD", "GRASS-CATCH"] + (["OIL-4T"] if k < 3 else [])
        elif k == 6:
            b = ["MOW-DLX", "GRASS-CATCH", "OIL-4T"]
        elif k == 7:
            b = ["MOW-STD", "SPARK", "OIL-4T"]
        elif k < 12:
            b = ["DRILL-18V", "BITS"] + (["BATT-18V"] if k < 10 else [])
        elif k < 15:
            b = ["GLOVES", "TAPE"]
        elif k < 17:
            b = ["TAPE"]
        elif k == 17:
            b = ["OLD", "GLOVES"]
        else:
            b = ["GLOVES"]
        out.append(b)
    return out


def make_till(path: Path, baskets: Sequence[Sequence[str]] | None = None, wal: bool = False,
              products: Sequence[tuple] = PRODUCTS, messy: bool = True,
              open_sale: Sequence[str] | None = None, register: str = "1") -> Path:
    """Write a reference-schema till. With ``messy``, add a voided sale, a voided line and a
    return that mining must ignore."""
    baskets = pattern_baskets() if baskets is None else baskets
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(REFERENCE_DDL)
    conn.executemany("INSERT INTO products VALUES (?,?,?,?,?,?,?,?)", products)
    price = {p[0]: p[4] for p in products}
    sale_id = 0
    line_id = 0
    for i, b in enumerate(baskets):
        sale_id += 1
        day = 1 + (i * 300) // max(len(baskets), 1)
        ts = f"2026-{1 + day // 28:02d}-{1 + day % 28:02d}T10:{i % 60:02d}:00"
        conn.execute("INSERT INTO sales VALUES (?,?,?,?,?,?,?)",
                     (sale_id, str(1 + i % 3), "C01", None, ts, ts, "closed"))
        for sku in b:
            line_id += 1
            conn.execute("INSERT INTO sale_lines VALUES (?,?,?,?,?,?)",
                         (line_id, sale_id, sku, 1, price.get(sku, 1.0), 0))
    if messy:
        # voided sale, voided line, return: all must be left out of mining
        sale_id += 1
        conn.execute("INSERT INTO sales VALUES (?,?,?,?,?,?,?)",
                     (sale_id, "1", "C01", None, "2026-11-01T09:00:00", "2026-11-01T09:01:00", "void"))
        for sku in ("TAPE", "SPARK"):
            line_id += 1
            conn.execute("INSERT INTO sale_lines VALUES (?,?,?,?,?,?)",
                         (line_id, sale_id, sku, 1, 1.0, 0))
        sale_id += 1
        conn.execute("INSERT INTO sales VALUES (?,?,?,?,?,?,?)",
                     (sale_id, "1", "C01", None, "2026-11-01T10:00:00", "2026-11-01T10:01:00", "closed"))
        line_id += 1
        conn.execute("INSERT INTO sale_lines VALUES (?,?,?,?,?,?)", (line_id, sale_id, "TAPE", 1, 5.0, 0))
        line_id += 1
        conn.execute("INSERT INTO sale_lines VALUES (?,?,?,?,?,?)", (line_id, sale_id, "BITS", 1, 5.0, 1))
        line_id += 1
        conn.execute("INSERT INTO sale_lines VALUES (?,?,?,?,?,?)", (line_id, sale_id, "SPARK", -1, 6.0, 0))
    if open_sale:
        sale_id += 1
        conn.execute("INSERT INTO sales VALUES (?,?,?,?,?,?,?)",
                     (sale_id, register, "C02", None, "2026-11-02T10:00:00", None, "open"))
        for sku in open_sale:
            line_id += 1
            conn.execute("INSERT INTO sale_lines VALUES (?,?,?,?,?,?)",
                         (line_id, sale_id, sku, 1, price.get(sku, 1.0), 0))
    conn.commit()
    conn.close()
    return path


def post_json(url: str, body: bytes, token: str | None) -> tuple[int, dict]:
    """POST a body to the basket API on loopback; (status, decoded JSON answer)."""
    import json
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def harness(qtbot: object) -> Iterator[object]:
    """Opens panels for a test and proves, at the end, that every thread they started ended."""
    from panel_harness import PanelHarness

    h = PanelHarness()
    yield h
    assert h.close_all() == []


@pytest.fixture
def panel(harness: object, qtbot: object, tmp_path: Path) -> tuple[object, object, Path, object]:
    """A live panel on a small till with rules: (controller, window, till path, context),
    once the rules are loaded and the till watcher and basket API are up."""
    from panel_harness import WAIT_MS, make_context

    from possuggest.ui.controller import PanelOptions

    till = make_till(tmp_path / "till.db")
    ctx = make_context(tmp_path / "data", till)
    controller, window = harness.open(ctx, PanelOptions(api_port=0))  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: controller.rules_state == "ready"  # type: ignore[attr-defined]
                    and controller.sources["till"].state == "ok"
                    and controller.sources["api"].state == "ok", timeout=WAIT_MS)
    return controller, window, till, ctx


@pytest.fixture
def till(tmp_path: Path) -> Path:
    return make_till(tmp_path / "till.db")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def shared_data(request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """``shared_data(NAME)``: the path of ``../shared/data/NAME`` beside the checkout, or a
    skip of the calling test naming what is missing. Only for tests marked
    ``@pytest.mark.shared_data``, so that ``-m "not shared_data"`` leaves out exactly these."""
    if request.node.get_closest_marker("shared_data") is None:
        pytest.fail(f"{request.node.nodeid} reads ../shared/data but is not marked "
                    "@pytest.mark.shared_data", pytrace=False)

    def find(name: str) -> Path:
        if not SHARED_DATA.is_dir():
            pytest.skip(f"shared data folder absent: {SHARED_DATA} (../shared/data beside "
                        "the checkout)")
        path = SHARED_DATA / name
        if not path.is_file():
            pytest.skip(f"shared data file absent: {path}")
        return path

    return find
