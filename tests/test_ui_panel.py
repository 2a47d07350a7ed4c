"""The cashier panel driven offscreen: till lines → cards, F1/Esc/taps → events, dismissed
items stay away for the rest of the sale, and the look options persist."""

from __future__ import annotations

from pathlib import Path

import pytest
from panel_harness import WAIT_MS, TillWriter, card_skus, make_context, read_events, ring_skus
from PySide6.QtCore import Qt

from conftest import make_till
from possuggest.services.state import AppState
from possuggest.ui.controller import PanelOptions


@pytest.fixture
def live(harness, qtbot, tmp_path: Path):
    """A panel on a small till with an active rule set, waiting for the first sale."""
    till = make_till(tmp_path / "till.db")
    ctx = make_context(tmp_path / "data", till)
    controller, window = harness.open(ctx, PanelOptions(api_enabled=False))
    qtbot.waitUntil(lambda: controller.rules_state == "ready", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: controller.sources["till"].state == "ok", timeout=WAIT_MS)
    return controller, window, TillWriter(till), ctx


def test_till_lines_show_cards(live, qtbot) -> None:
    controller, window, till, _ = live
    assert window.empty.isVisible()
    assert window.empty.title.text() == "Scan an item to see suggestions"
    sale = till.open_sale()
    till.add_line(sale, "MOW-STD", price=249.0)
    qtbot.waitUntil(lambda: "GRASS-CATCH" in card_skus(window), timeout=WAIT_MS)
    assert window.basket_line.fullText() == "Lawn Mower Standard"
    assert f"Sale {sale}" in window.basket_meta.text()
    first = window.cards.visible_cards()[0]
    assert first.badge.text() in ("ACCESSORY", "UPGRADE")
    assert first.reason.text().startswith(("Most ", "1 in ", "Often bought with"))
    assert first.reason.toolTip().startswith("Bought with")      # the numbers, for those who ask
    assert "SPARK" not in card_skus(window)          # out of stock: never suggested
    # the upgrade card shows the price difference
    upgrade = [c for c in window.cards.visible_cards() if c.sku == "MOW-DLX"]
    assert upgrade and upgrade[0].price.text() == "+$120"
    assert upgrade[0].badge.text() == "UPGRADE"
    assert upgrade[0].stock.text() == "5 in stock"
    assert not window.empty.isVisible()


def test_f1_logs_accepted_event(live, qtbot) -> None:
    controller, window, till, ctx = live
    sale = till.open_sale()
    till.add_line(sale, "MOW-STD")
    qtbot.waitUntil(lambda: len(card_skus(window)) >= 2, timeout=WAIT_MS)
    top = card_skus(window)[0]
    qtbot.keyClick(window, Qt.Key.Key_F1)
    assert top not in card_skus(window)
    assert ring_skus(window) == [top]            # it waits, with its code, to be rung up
    assert controller.writer.flush(5.0)
    events = read_events(controller.plan.rules_db)
    accepted = [e for e in events if e["action"] == "accepted"]
    assert [(e["sku"], e["source"], e["sale_id"]) for e in accepted] == [(top, "key", str(sale))]
    assert accepted[0]["rule_set_id"] == controller.engine.rule_set_id
    shown = {e["sku"]: e["source"] for e in events if e["action"] == "shown"}
    assert shown[top] == "till"          # shown when the till's line arrived
    assert len(shown) >= 2


def test_f2_and_tap_accept(live, qtbot) -> None:
    controller, window, till, _ = live
    sale = till.open_sale()
    till.add_line(sale, "MOW-STD")          # catcher, oil and the deluxe upgrade: three cards
    qtbot.waitUntil(lambda: len(card_skus(window)) >= 3, timeout=WAIT_MS)
    second = card_skus(window)[1]
    qtbot.keyClick(window.scan, Qt.Key.Key_F2)           # focus in the scan box: still works
    assert second not in card_skus(window)
    card = window.cards.suggestion_cards()[0]
    tapped = card.sku
    qtbot.mouseClick(card.accept_button, Qt.MouseButton.LeftButton)
    assert tapped not in card_skus(window)
    assert ring_skus(window) == [second, tapped]
    controller.writer.flush(5.0)
    got = {(e["sku"], e["source"]) for e in read_events(controller.plan.rules_db)
           if e["action"] == "accepted"}
    assert got == {(second, "key"), (tapped, "tap")}


def test_dismissed_item_does_not_come_back(live, qtbot) -> None:
    controller, window, till, _ = live
    sale = till.open_sale()
    till.add_line(sale, "MOW-STD")
    qtbot.waitUntil(lambda: "GRASS-CATCH" in card_skus(window), timeout=WAIT_MS)
    top = card_skus(window)[0]
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert top not in card_skus(window)
    seq = controller.session.view.seq
    till.add_line(sale, "OIL-4T")
    qtbot.waitUntil(lambda: controller.session.view.seq > seq
                    and len(controller.session.view.basket) == 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window._drawn_seq == controller.session.view.seq, timeout=WAIT_MS)
    assert top not in card_skus(window)
    assert top not in [s.sku for s in controller.session.view.suggestions]
    # dismiss by the × of a focused (clicked) card
    card = window.cards.visible_cards()[-1]
    gone = card.sku
    qtbot.mouseClick(card.dismiss_button, Qt.MouseButton.LeftButton)
    assert gone not in card_skus(window)
    controller.writer.flush(5.0)
    dismissed = [(e["sku"], e["source"]) for e in read_events(controller.plan.rules_db)
                 if e["action"] == "dismissed"]
    assert dismissed == [(top, "key"), (gone, "tap")]
    # a new sale starts clean: the dismissed item may be suggested again
    till.close_sale(sale)
    sale2 = till.open_sale()
    till.add_line(sale2, "MOW-STD")
    qtbot.waitUntil(lambda: controller.session.view.sale_id == str(sale2)
                    and top in card_skus(window), timeout=WAIT_MS)


def test_esc_dismisses_the_focused_card(live, qtbot) -> None:
    controller, window, till, _ = live
    sale = till.open_sale()
    till.add_line(sale, "MOW-STD")
    qtbot.waitUntil(lambda: len(card_skus(window)) >= 3, timeout=WAIT_MS)
    third = window.cards.visible_cards()[2]
    sku = third.sku
    third.setFocus()
    qtbot.keyClick(third, Qt.Key.Key_Escape)
    remaining = card_skus(window)
    assert sku not in remaining and len(remaining) >= 2


def test_item_rung_up_counts_as_accepted(live, qtbot) -> None:
    controller, window, till, _ = live
    sale = till.open_sale()
    till.add_line(sale, "MOW-STD")
    qtbot.waitUntil(lambda: "GRASS-CATCH" in card_skus(window), timeout=WAIT_MS)
    till.add_line(sale, "GRASS-CATCH")
    qtbot.waitUntil(lambda: "GRASS-CATCH" in controller.session.view.basket, timeout=WAIT_MS)
    controller.writer.flush(5.0)
    assert ("GRASS-CATCH", "basket") in {(e["sku"], e["source"]) for e in
                                         read_events(controller.plan.rules_db)
                                         if e["action"] == "accepted"}


def test_look_options_persist(harness, qtbot, tmp_path: Path) -> None:
    till = make_till(tmp_path / "till.db")
    ctx = make_context(tmp_path / "data", till, api_enabled=False)
    config_bytes = ctx.paths.config_file.read_bytes()
    controller, window = harness.open(ctx, PanelOptions(api_enabled=False))
    qtbot.waitUntil(lambda: controller.rules_state == "ready", timeout=WAIT_MS)
    window.set_theme("dark")
    window.set_compact(True)
    window.set_large_font(True)
    window.act_on_top.setChecked(True)
    assert window.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    assert AppState(ctx.paths.state_file).look() == {
        "theme": "dark", "compact": True, "large_font": True, "always_on_top": True}
    assert ctx.paths.config_file.read_bytes() == config_bytes   # the manager's file untouched
    assert window.palette_.name == "dark"
    assert window.act_dark.isChecked() and window.act_compact.isChecked()
    assert window.styleSheet().count("px") > 50
    window.resize(401, 640)
    assert harness.close(controller, window) == []
    # a new panel comes back with the same look and size
    ctx2 = make_context(tmp_path / "data", till)
    controller2, window2 = harness.open(ctx2, PanelOptions(api_enabled=False))
    assert controller2.look().theme == "dark" and window2.palette_.name == "dark"
    assert window2.size().width() == 401 and window2.size().height() == 640
    assert window2.act_compact.isChecked() and window2.act_large.isChecked()
    assert window2.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    card = window2.cards.cards[0]
    assert card.reason_line.isVisibleTo(card) and not card.reason.isVisibleTo(card)


def test_refresh_action_with_progress_and_cancel(live, qtbot) -> None:
    controller, window, till, _ = live
    first = controller.engine.rule_set_id
    phases: list[tuple[str, float]] = []
    controller.progressChanged.connect(lambda ph, f, m: phases.append((ph, f)))
    assert controller.refresh_rules()
    qtbot.waitUntil(lambda: controller.engine.rule_set_id == first + 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not controller.busy, timeout=WAIT_MS)
    assert any(ph == "refresh" and f > 0 for ph, f in phases)
    # the cashier is told in a toast, in their words, with no rule counts
    assert window.toast_text().startswith("Suggestions updated")
    assert not any(ch.isdigit() for ch in window.toast_text())
    assert "refresh" not in window.banners          # a toast takes no room from the cards
    assert not window.status.progress_row.isVisible()
    # cancel straight away: the previous rules stay active
    assert controller.refresh_rules()
    controller.cancel_task()
    qtbot.waitUntil(lambda: not controller.busy, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "cancelled" in window.toast_text(), timeout=WAIT_MS)
    assert controller.engine.rule_set_id == first + 1


def test_live_stock_from_the_till(harness, qtbot, tmp_path: Path) -> None:
    """Stock read by the watcher reaches the engine (rebuilt off-thread): an item that sells
    out is no longer suggested."""
    import sqlite3

    till = make_till(tmp_path / "till.db")
    ctx = make_context(tmp_path / "data", till)
    controller, window = harness.open(ctx, PanelOptions(api_enabled=False, products_every_s=0.1))
    qtbot.waitUntil(lambda: controller.rules_state == "ready", timeout=WAIT_MS)
    writer = TillWriter(till)
    sale = writer.open_sale()
    writer.add_line(sale, "MOW-STD")
    qtbot.waitUntil(lambda: "GRASS-CATCH" in card_skus(window), timeout=WAIT_MS)
    conn = sqlite3.connect(till)
    conn.execute("UPDATE products SET stock = 0 WHERE sku = 'GRASS-CATCH'")
    conn.commit()
    conn.close()
    qtbot.waitUntil(lambda: "GRASS-CATCH" not in card_skus(window), timeout=WAIT_MS)
    assert controller.engine.products["GRASS-CATCH"].stock == 0


def test_bad_config_at_start_keeps_the_last_good_till(harness, qtbot, tmp_path: Path) -> None:
    """A bad value: banner naming the key, the configured till still served (from the last
    good settings), no demo store, no simulator, the file untouched."""
    from possuggest.services.context import AppContext

    till = make_till(tmp_path / "till.db")
    data = tmp_path / "data"
    data.mkdir()
    cfg = data / "config.toml"
    cfg.write_text(f"[till]\npath = '{till}'\n[watcher]\npoll_ms = 50\n", encoding="utf-8")
    controller, window = harness.open(AppContext.create(str(data), None, None, strict=False),
                                      PanelOptions(api_enabled=False))
    qtbot.waitUntil(lambda: controller.rules_state == "ready", timeout=WAIT_MS)
    assert harness.close(controller, window) == []
    bad = cfg.read_text() + "[policy]\nmax_suggestions = -1\n"
    cfg.write_text(bad, encoding="utf-8")
    ctx = AppContext.create(str(data), None, None, strict=False)
    controller, window = harness.open(ctx, PanelOptions(api_enabled=False))
    qtbot.waitUntil(lambda: "config" in window.banners and controller.rules_state == "ready",
                    timeout=WAIT_MS)
    assert "policy.max_suggestions" in window.banners["config"].text
    assert not controller.plan.demo and controller.plan.till_path == till
    qtbot.waitUntil(lambda: controller.sources["till"].state == "ok", timeout=WAIT_MS)
    assert controller.simulator is None and not ctx.paths.demo_till_db.exists()
    assert cfg.read_text() == bad and not list(data.glob("config.toml.*"))
    window.banners["config"].close_button.click()
    assert "config" not in window.banners


def test_gui_thread_never_opens_sqlite(harness, qtbot, tmp_path: Path, monkeypatch) -> None:
    """Watcher, refresh, engine load and events all open their connections off the GUI
    thread (the test's own till writes are the only main-thread connections)."""
    import sqlite3
    import sys
    import threading

    import possuggest

    package = Path(possuggest.__file__).resolve().parent     # wherever the checkout lives
    real = sqlite3.connect
    on_gui: list[str] = []

    def spy(*args, **kwargs):
        if threading.current_thread() is threading.main_thread():
            caller = Path(sys._getframe(1).f_code.co_filename).resolve()
            if caller.is_relative_to(package):       # the package's code, not the tests' helpers
                on_gui.append(str(caller))
        return real(*args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", spy)
    till = make_till(tmp_path / "till.db")
    ctx = make_context(tmp_path / "data", till)
    controller, window = harness.open(ctx, PanelOptions(api_port=0, products_every_s=0.2))
    qtbot.waitUntil(lambda: controller.rules_state == "ready", timeout=WAIT_MS)
    writer = TillWriter(till)
    sale = writer.open_sale()
    writer.add_line(sale, "MOW-STD")
    qtbot.waitUntil(lambda: len(card_skus(window)) >= 2, timeout=WAIT_MS)
    qtbot.keyClick(window, Qt.Key.Key_F1)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    controller.scan("DRILL-18V")
    assert controller.refresh_rules()
    qtbot.waitUntil(lambda: not controller.busy and controller.engine.rule_set_id == 2,
                    timeout=WAIT_MS)
    controller.writer.flush(5.0)
    assert on_gui == []
