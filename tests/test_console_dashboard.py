"""The console's Earnings tab: the report's figures and charts appear, an empty period and a
damaged database are said in the banner (no crash), and Export CSV writes the whole file."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest
from panel_harness import WAIT_MS, make_context

from possuggest.services.report import build_report, report_csv
from possuggest.store.rule_store import RuleStore
from possuggest.ui.controller import PanelOptions

DAYS = 10
PER_DAY = 40


def write_sales(path: Path, seed: int = 3) -> tuple[int, int]:
    """Ten days of sales at two registers, every tenth a holdout sale; treated sales see two
    cards and take one now and then. Returns (sales, holdout sales)."""
    rng = random.Random(seed)
    sales, events = [], []
    n = hold = 0
    for day in range(1, DAYS + 1):
        for k in range(PER_DAY):
            n += 1
            reg = "1" if k % 2 else "2"
            sid = f"{day}-{k}"
            ts = f"2026-06-{day:02d}T{9 + k % 8:02d}:{k % 60:02d}:00"
            holdout = n % 10 == 0
            hold += holdout
            value = rng.gauss(50.0, 12.0)
            shown = accepted = 0
            if not holdout:
                for sku, rid in (("BITS", 1), ("CASE", 2)):
                    events.append({"ts": ts, "register": reg, "sale_id": sid, "sku": sku,
                                   "kind": "cross", "rule_id": rid, "rule_set_id": 1,
                                   "action": "shown"})
                    shown += 1
                    if rng.random() < (0.4 if sku == "BITS" else 0.1):
                        events.append({"ts": ts, "register": reg, "sale_id": sid, "sku": sku,
                                       "kind": "cross", "rule_id": rid, "rule_set_id": 1,
                                       "action": "accepted"})
                        accepted += 1
                        value += 19.0
            sales.append({"register": reg, "sale_id": sid, "ended": ts, "holdout": holdout,
                          "items": 2 + accepted, "value": round(value, 2), "n_shown": shown,
                          "n_accepted": accepted, "accepted_value": 19.0 * accepted,
                          "rule_set_id": 1})
    with RuleStore(path) as store:
        store.log_events(events)
        store.log_sales(sales)
    return n, hold


@pytest.fixture
def console(harness, qtbot, tmp_path):
    """A panel's controller (not started: the tab needs only its database) with sales logged."""
    ctx = make_context(tmp_path / "data")
    controller, _ = harness.open(ctx, PanelOptions(api_enabled=False), start=False)
    return controller


def _tab(controller, qtbot, wait: str = "reported"):
    """A new tab and the first thing it reports. The worker's answer reaches the tab through
    the event loop, which runs only inside the wait: connecting after construction is safe."""
    from possuggest.ui.console.dashboard import DashboardTab

    tab = DashboardTab(controller)
    qtbot.addWidget(tab)
    with qtbot.waitSignal(getattr(tab, wait), timeout=WAIT_MS) as sig:
        pass
    return tab, sig.args[0]


def test_figures_and_charts_appear_and_csv_export(console, qtbot, tmp_path) -> None:
    n, hold = write_sales(console.plan.rules_db)
    tab, report = _tab(console, qtbot)
    assert report.sales == n and report.holdout_sales == hold
    expected = build_report(console.plan.rules_db, None, None)
    assert report.to_json() == expected.to_json()
    t = tab.tiles
    assert t["sales"].value.text() == f"{n:,}"
    assert f"{hold} holdout (10.0%)" in t["sales"].sub.text()
    assert t["shown"].value.text() == f"{report.shown:,}"
    assert t["accepted"].sub.text().startswith(f"acceptance {100 * report.acceptance_rate:.1f}%")
    assert t["uplift"].value.text() != "—" and "95% interval" in t["uplift"].sub.text()
    assert tab.method.text().startswith("Method: Welch")
    needed = tab.needed.text()
    assert ("more sales needed before the interval excludes zero" in needed
            or "excludes zero: the uplift is measured" in needed)
    assert tab.best.rowCount() == 2 and "→" in tab.best.item(0, 0).text()
    assert tab.banner.isHidden()
    # the charts hold the trend, the breakdown and the interval
    curves = tab.charts["cards"].getPlotItem().listDataItems()
    assert len(curves) == 2 and len(curves[0].getData()[0]) == DAYS
    assert tab.charts["breakdown"].getPlotItem().items
    for k in range(3):                      # by kind, category, register: each draws
        tab.breakdown.setCurrentIndex(k)
        assert tab.charts["breakdown"].getPlotItem().items
    assert tab.charts["ci"].getPlotItem().items
    # Export CSV: the whole report, and a path that cannot be written leaves no file
    out = tmp_path / "earnings.csv"
    assert tab.export_csv(out)
    assert out.read_text(encoding="utf-8") == report_csv(report)
    assert "Exported" in tab.banner.text()
    bad = tmp_path / "no-such-folder" / "x.csv"
    assert not tab.export_csv(bad)
    assert not bad.exists() and not bad.parent.exists()
    assert tab.banner.property("level") == "error" and "Not exported" in tab.banner.text()
    tab.shutdown()
    assert not tab.busy


def test_a_period_and_an_empty_period(console, qtbot) -> None:
    write_sales(console.plan.rules_db)
    tab, _ = _tab(console, qtbot)
    with qtbot.waitSignal(tab.reported, timeout=WAIT_MS) as sig:
        tab.set_period(date(2026, 6, 3), date(2026, 6, 4))
    assert sig.args[0].sales == 2 * PER_DAY
    assert len(tab.charts["cards"].getPlotItem().listDataItems()[0].getData()[0]) == 2
    with qtbot.waitSignal(tab.reported, timeout=WAIT_MS) as sig:
        tab.set_period(date(2020, 1, 1), date(2020, 1, 31))
    assert sig.args[0].sales == 0
    assert not tab.banner.isHidden() and tab.banner.property("level") == "warn"
    assert tab.banner.text().startswith("No sales in this period")
    assert tab.tiles["sales"].value.text() == "0" and tab.tiles["uplift"].value.text() == "—"
    assert tab.needed.text() == "No sales in this period."
    assert tab.best.rowCount() == 0
    # a period that ends before it starts: said, nothing drawn
    with qtbot.waitSignal(tab.failed, timeout=WAIT_MS) as sig:
        tab.set_period(date(2026, 6, 5), date(2026, 6, 1))
    assert "starts" in sig.args[0]
    assert tab.banner.property("level") == "error"
    assert tab.report is None and not tab.export_button.isEnabled()
    tab.shutdown()


def test_no_database_and_a_damaged_one_are_said(console, qtbot) -> None:
    path = console.plan.rules_db
    tab, message = _tab(console, qtbot, wait="failed")
    assert "no possuggest database" in message
    assert tab.banner.text().startswith("No report:") and tab.report is None
    tab.shutdown()
    write_sales(path)
    data = bytearray(path.read_bytes())
    page = 4096
    for k in range(1, len(data) // page):          # every page but the header: garbage
        data[k * page: k * page + 200] = bytes(range(200))
    path.write_bytes(bytes(data))
    tab, message = _tab(console, qtbot, wait="failed")
    assert "damaged" in message or "cannot be read" in message
    assert tab.banner.property("level") == "error" and tab.tiles["sales"].value.text() == "—"
    tab.shutdown()


def test_a_damaged_events_summary_is_said(console, qtbot) -> None:
    import sqlite3

    path = console.plan.rules_db
    write_sales(path)
    conn = sqlite3.connect(path)
    conn.executescript("DROP TRIGGER IF EXISTS event_daily_ins; DROP TABLE event_daily;"
                       "CREATE TABLE event_daily (garbage TEXT);")
    conn.close()
    tab, message = _tab(console, qtbot, wait="failed")
    assert message and tab.banner.property("level") == "error"
    tab.shutdown()
