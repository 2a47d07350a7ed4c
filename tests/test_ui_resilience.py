"""The till database disappears, is locked or corrupt: a banner says so, the panel keeps
working from the scan box and the API, and the watcher reconnects by itself."""

from __future__ import annotations

import os
import sqlite3

from panel_harness import WAIT_MS, TillWriter, card_skus


def test_till_deleted_and_restored(panel, qtbot) -> None:
    controller, window, till, _ = panel
    writer = TillWriter(till)
    sale = writer.open_sale()
    writer.add_line(sale, "MOW-STD")
    qtbot.waitUntil(lambda: "GRASS-CATCH" in card_skus(window), timeout=WAIT_MS)
    away = till.with_name("till.db.away")
    os.replace(till, away)
    qtbot.waitUntil(lambda: "till" in window.banners, timeout=WAIT_MS)
    banner = window.banners["till"]
    assert "not found" in banner.text and banner.level == "warn"
    assert controller.sources["till"].state == "missing"
    assert window.live.text() == "Till offline"
    # the scan box still works with the rules in memory
    assert controller.scan("DRILL-18V")
    qtbot.waitUntil(lambda: "BITS" in card_skus(window), timeout=WAIT_MS)
    # the file comes back: the watcher reconnects by itself
    os.replace(away, till)
    qtbot.waitUntil(lambda: controller.sources["till"].state == "ok", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "connected again" in window.toast_text(), timeout=WAIT_MS)
    assert "till" not in window.banners             # good news is a toast, not a banner
    writer.add_line(sale, "DRILL-18V")
    qtbot.waitUntil(lambda: controller.session.view.basket == ("MOW-STD", "DRILL-18V")
                    and controller.session.view.source == "till", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.live.text() == "● Live", timeout=WAIT_MS)


def test_till_locked_then_released(panel, qtbot) -> None:
    controller, window, till, _ = panel
    conn = sqlite3.connect(till, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        qtbot.waitUntil(lambda: controller.sources["till"].state == "locked", timeout=WAIT_MS)
        assert "locked" in window.banners["till"].text
        assert controller.scan("MOW-STD")                 # the panel does not freeze
        qtbot.waitUntil(lambda: len(card_skus(window)) >= 2, timeout=WAIT_MS)
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    qtbot.waitUntil(lambda: controller.sources["till"].state == "ok", timeout=WAIT_MS)


def test_till_corrupt_then_repaired(panel, qtbot) -> None:
    controller, window, till, _ = panel
    good = till.read_bytes()
    bad = till.with_name("bad.db")
    bad.write_bytes(b"this is not a database" * 200)
    os.replace(bad, till)
    qtbot.waitUntil(lambda: controller.sources["till"].state == "error", timeout=WAIT_MS)
    assert window.banners["till"].level == "error"
    assert "cannot be read" in window.banners["till"].text
    fixed = till.with_name("fixed.db")
    fixed.write_bytes(good)
    os.replace(fixed, till)
    qtbot.waitUntil(lambda: controller.sources["till"].state == "ok", timeout=WAIT_MS)
    writer = TillWriter(till)
    sale = writer.open_sale()
    writer.add_line(sale, "MOW-STD")
    qtbot.waitUntil(lambda: "GRASS-CATCH" in card_skus(window), timeout=WAIT_MS)
