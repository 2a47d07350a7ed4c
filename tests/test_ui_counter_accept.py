"""Accepting helps ring it up (issue 11), on the real panel: the accepted card shows the item's
code large and as a barcode that reads back, until the till's sale holds the item; then it
confirms ("Rung up ✓") and goes. One never rung up is logged as 'declined' / 'not-rung'. An
accept from the till side through the basket API shows the same card."""

from __future__ import annotations

import json

from panel_harness import WAIT_MS, TillWriter, card_skus, read_events, ring_skus
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from test_ui_counter_barcode import read_pixels

from conftest import post_json
from possuggest.ui.panel import DEFAULT_SIZE


def _ring_card(window, sku: str):
    return next(c for c in window.cards.visible_cards() if c.sku == sku)


def _events(controller, action: str) -> list[tuple[str, str]]:
    controller.writer.flush(5.0)
    return [(e["sku"], e["source"]) for e in read_events(controller.plan.rules_db)
            if e["action"] == action]


def test_accept_shows_the_code_until_rung_up_then_confirms(panel, qtbot) -> None:
    controller, window, till, _ = panel
    window.resize(DEFAULT_SIZE)                 # the screen offscreen is 800x600
    window.confirm_ms = 400
    writer = TillWriter(till)
    sale = writer.open_sale()
    writer.add_line(sale, "MOW-STD")
    qtbot.waitUntil(lambda: len(card_skus(window)) == 3, timeout=WAIT_MS)
    top = card_skus(window)[0]
    qtbot.keyClick(window, Qt.Key.Key_F1)
    assert ring_skus(window) == [top]
    card = _ring_card(window, top)
    assert card.badge.text() == "RING UP" and card.code.text() == top
    assert card.code.isVisible() and card.barcode.isVisible()
    assert not card.accept_button.isVisible() and not card.quick_accept.isVisible()
    assert len(card_skus(window)) == 2                 # the accepted card keeps its place
    # the barcode on screen reads back as the item's code
    image = QImage(card.barcode.size(), QImage.Format.Format_RGB32)
    image.fill(QColor(window.palette_.surface))
    card.barcode.render(image)
    assert card.barcode.module_px() >= 1
    assert read_pixels(image) == top
    # something else rung up: it keeps waiting
    writer.add_line(sale, "TAPE")
    qtbot.waitUntil(lambda: controller.session.view.basket[-1:] == ("TAPE",), timeout=WAIT_MS)
    assert ring_skus(window) == [top]
    # the item rung up: the card confirms, then goes
    writer.add_line(sale, top)
    qtbot.waitUntil(lambda: any(c.mode == "done" and c.sku == top
                                for c in window.cards.visible_cards()), timeout=WAIT_MS)
    done = _ring_card(window, top)
    assert done.done.isVisible() and done.done.text() == "Rung up ✓"
    assert done.badge.text() == "RUNG UP" and not done.dismiss_button.isVisible()
    qtbot.waitUntil(lambda: top not in [c.sku for c in window.cards.visible_cards()],
                    timeout=WAIT_MS)
    assert _events(controller, "accepted") == [(top, "key")]     # once, the cashier's
    assert _events(controller, "declined") == []


def test_accepted_but_not_rung_is_logged_when_the_sale_ends(panel, qtbot) -> None:
    controller, window, till, _ = panel
    writer = TillWriter(till)
    sale = writer.open_sale()
    writer.add_line(sale, "MOW-STD")
    qtbot.waitUntil(lambda: len(card_skus(window)) == 3, timeout=WAIT_MS)
    first, second = card_skus(window)[:2]
    qtbot.mouseClick(window.cards.suggestion_cards()[0].accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ring_skus(window) == [first], timeout=WAIT_MS)
    window.set_compact(True)                            # the ✓ beside the card accepts too
    qtbot.mouseClick(window.cards.suggestion_cards()[0].quick_accept, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ring_skus(window) == [first, second], timeout=WAIT_MS)
    # the customer changes their mind about the second: its × withdraws it
    qtbot.mouseClick(_ring_card(window, second).dismiss_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ring_skus(window) == [first], timeout=WAIT_MS)
    assert _events(controller, "declined") == [(second, "not-rung")]
    # the sale closes without the first ever rung up
    writer.close_sale(sale)
    sale2 = writer.open_sale()
    writer.add_line(sale2, "DRILL-18V")
    qtbot.waitUntil(lambda: controller.session.view.sale_id == str(sale2), timeout=WAIT_MS)
    # the window redraws from a queued signal: wait until it shows the new sale
    qtbot.waitUntil(lambda: f"Sale {sale2}" in window.basket_meta.text(), timeout=WAIT_MS)
    assert ring_skus(window) == []
    controller.writer.flush(5.0)
    declined = [(e["sku"], e["source"], e["sale_id"]) for e in
                read_events(controller.plan.rules_db) if e["action"] == "declined"]
    assert declined == [(second, "not-rung", str(sale)), (first, "not-rung", str(sale))]


def test_an_api_accept_marks_the_card_accepted(panel, qtbot) -> None:
    """The till side accepts through the basket API (a key bound to a script): the panel,
    which never had focus, shows the card accepted with its code."""
    controller, window, till, ctx = panel
    writer = TillWriter(till)
    sale = writer.open_sale()
    writer.add_line(sale, "MOW-STD")
    qtbot.waitUntil(lambda: len(card_skus(window)) == 3, timeout=WAIT_MS)
    second = card_skus(window)[1]
    url = f"http://127.0.0.1:{controller.api_port}/v1/suggestions/{second}/accept"
    body = json.dumps({"register": controller.register, "sale_id": str(sale)}).encode()
    with qtbot.waitSignal(controller.viewChanged, timeout=WAIT_MS):
        status, answer = post_json(url, body, ctx.api_token())
    assert status == 200, answer
    assert [s["sku"] for s in answer["accepted"]] == [second]
    qtbot.waitUntil(lambda: ring_skus(window) == [second], timeout=WAIT_MS)
    assert _ring_card(window, second).code.text() == second
    assert second not in card_skus(window)
    assert _events(controller, "accepted") == [(second, "api")]
