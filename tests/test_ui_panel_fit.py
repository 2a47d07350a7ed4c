"""Every card visible (issue 11): at the default window size, in default, compact and large-text
modes, with and without a banner (and a toast), every card lies inside the visible area — the
cards shrink (reason to one line, stock hidden, …) instead of being pushed below the fold."""

from __future__ import annotations

import pytest
from panel_harness import WAIT_MS, TillWriter, card_skus
from PySide6.QtCore import QPoint, QRect

from possuggest.ui.cards import BARE, FULL
from possuggest.ui.panel import DEFAULT_SIZE

BANNER = ("Till not found (till.db) — reconnecting. The scan box still works. A second "
          "sentence makes it wrap, as a settings problem naming its key would.")


def outside(window) -> list[str]:
    """The cards (and panel parts) not wholly inside the visible area; [] when all are."""
    vp = window.scroll.viewport()
    area = vp.rect()
    bad = []
    if window.scroll.verticalScrollBar().value() != 0:
        bad.append("scrolled")
    for card in window.cards.visible_cards():
        rect = QRect(card.mapTo(vp, QPoint(0, 0)), card.size())
        if not area.contains(rect):
            bad.append(f"{card.mode} {card.sku} {rect.getRect()} not in {area.getRect()}")
    win = window.rect()
    for part in (window.scroll, window.scan, window.status):
        rect = QRect(part.mapTo(window, QPoint(0, 0)), part.size())
        if not win.contains(rect):
            bad.append(f"{part.objectName()} {rect.getRect()} outside the window")
    return bad


@pytest.fixture
def sale(panel, qtbot):
    controller, window, till, _ = panel
    window.resize(DEFAULT_SIZE)
    qtbot.waitUntil(lambda: window.size() == DEFAULT_SIZE, timeout=WAIT_MS)
    writer = TillWriter(till)
    sale_id = writer.open_sale()
    writer.add_line(sale_id, "MOW-STD")         # catcher, oil and the deluxe upgrade
    qtbot.waitUntil(lambda: len(card_skus(window)) == 3, timeout=WAIT_MS)
    return controller, window, writer, sale_id


MODES = {"default": {}, "compact": {"compact": True}, "large text": {"large": True},
         "large compact": {"large": True, "compact": True}}


@pytest.mark.parametrize("banner", [False, True], ids=["no banner", "banner and toast"])
@pytest.mark.parametrize("mode", list(MODES))
def test_every_card_inside_the_visible_area(sale, qtbot, mode: str, banner: bool) -> None:
    controller, window, _, _ = sale
    look = MODES[mode]
    window.set_compact(bool(look.get("compact")))
    window.set_large_font(bool(look.get("large")))
    if banner:
        controller.show_banner("test", "warn", BANNER)
        controller.show_banner("refresh", "ok", "Suggestions updated from the latest sales.",
                               clear_after_ms=WAIT_MS)
        qtbot.waitUntil(lambda: "test" in window.banners and window.toast.isVisible(),
                        timeout=WAIT_MS)
        assert "refresh" not in window.banners      # a toast takes no room from the cards
    assert len(window.cards.visible_cards()) == 3
    qtbot.waitUntil(lambda: outside(window) == [], timeout=WAIT_MS)
    if not banner and mode == "default":
        assert window.cards.density == FULL        # nothing to give up at the default look
    cards = window.cards.visible_cards()
    assert all(c.isVisible() and c.height() > 0 for c in cards)
    if look.get("large"):
        name = cards[0].name_line if cards[0].name_line.isVisible() else cards[0].name
        assert name.fontInfo().pixelSize() >= 33


def test_accepted_cards_fit_too(sale, qtbot) -> None:
    """Two accepted items waiting to be rung up (code and barcode) beside a suggestion, large
    text and a banner: still all in view."""
    controller, window, _, _ = sale
    window.set_large_font(True)
    controller.show_banner("test", "warn", BANNER)
    first, second = card_skus(window)[:2]
    controller.accept(first, "tap")
    controller.accept(second, "tap")
    qtbot.waitUntil(lambda: [c.mode for c in window.cards.visible_cards()][:2] == ["ring", "ring"],
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: outside(window) == [], timeout=WAIT_MS)
    ring = window.cards.visible_cards()[0]
    assert ring.code.isVisible() and ring.code.text() == first


def test_cards_grow_back_when_room_returns(sale, qtbot) -> None:
    controller, window, _, _ = sale
    window.set_large_font(True)
    controller.show_banner("test", "warn", BANNER)
    qtbot.waitUntil(lambda: outside(window) == [], timeout=WAIT_MS)
    tight = max(c.density for c in window.cards.visible_cards())
    assert tight > FULL
    controller.clear_banner("test")
    window.set_large_font(False)
    qtbot.waitUntil(lambda: all(c.density == FULL for c in window.cards.visible_cards()),
                    timeout=WAIT_MS)
    assert outside(window) == []
    assert tight <= BARE
