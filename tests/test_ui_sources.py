"""Basket sources besides the till: the local API (loopback round trip, token, port in use)
and the scan box (codes, product names, unknown codes)."""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path

from panel_harness import WAIT_MS, make_context, read_events
from PySide6.QtCore import Qt

from conftest import make_till, post_json
from possuggest.ui.controller import PanelOptions


def post(port: int, token: str | None, body: dict) -> tuple[int, dict]:
    return post_json(f"http://127.0.0.1:{port}/v1/basket", json.dumps(body).encode(), token)


def test_api_round_trip_updates_the_panel(panel, qtbot) -> None:
    controller, window, _, ctx = panel
    port = controller.api_port
    assert port and port > 0
    assert f"API on port {port}" in window.status.sources.toolTip()
    assert str(port) not in window.status.sources.text()      # the cashier sees no port
    token = ctx.api_token()
    assert len(token) >= 20
    mode = stat.S_IMODE(ctx.paths.state_file.stat().st_mode)
    assert mode == 0o600                                        # the token is owner-only
    code, _ = post(port, None, {"register": "1", "items": [{"sku": "MOW-STD"}]})
    assert code == 401
    code, data = post(port, token, {"register": "1", "sale_id": "A-1",
                                    "items": [{"sku": "MOW-STD", "qty": 1}]})
    assert code == 200
    skus = [s["sku"] for s in data["suggestions"]]
    assert "GRASS-CATCH" in skus
    qtbot.waitUntil(lambda: [c.sku for c in window.cards.visible_cards()] == skus, timeout=WAIT_MS)
    assert window.basket_line.fullText() == "Lawn Mower Standard"
    assert "Sale A-1" in window.basket_meta.text()
    # another register's basket does not touch this panel
    seq = window._drawn_seq
    code, _ = post(port, token, {"register": "2", "items": [{"sku": "DRILL-18V"}]})
    assert code == 200
    assert controller.session.view.basket == ("MOW-STD",) and window._drawn_seq == seq
    # F1 on an API basket logs the accept with the API's sale id
    top = skus[0]
    qtbot.keyClick(window, Qt.Key.Key_F1)
    controller.writer.flush(5.0)
    events = read_events(controller.plan.rules_db)
    assert ("accepted", top, "A-1") in {(e["action"], e["sku"], e["sale_id"]) for e in events}
    assert {e["source"] for e in events if e["action"] == "shown" and e["sale_id"] == "A-1"} \
        >= {"api"}


def test_api_port_in_use_shows_banner_and_keeps_going(harness, qtbot, tmp_path: Path) -> None:
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    try:
        till = make_till(tmp_path / "till.db")
        ctx = make_context(tmp_path / "data", till)
        ctx.settings.api.port = port                      # the configured port is taken
        controller, window = harness.open(ctx, PanelOptions())
        qtbot.waitUntil(lambda: "api" in window.banners, timeout=WAIT_MS)
        assert f"port {port} is in use" in window.banners["api"].text
        assert controller.sources["api"].state == "error"
        qtbot.waitUntil(lambda: controller.rules_state == "ready", timeout=WAIT_MS)
        assert controller.scan("MOW-STD")                  # the panel keeps working
        qtbot.waitUntil(lambda: len(window.cards.visible_cards()) >= 2, timeout=WAIT_MS)
    finally:
        blocker.close()


def test_scan_box_codes_and_names(panel, qtbot) -> None:
    controller, window, _, _ = panel
    box = window.scan
    assert box.hasFocus() or window.isActiveWindow() is False
    qtbot.keyClicks(box, "MOW-STD")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert box.text() == ""
    assert controller.session.view.basket == ("MOW-STD",)
    qtbot.waitUntil(lambda: len(window.cards.visible_cards()) >= 2, timeout=WAIT_MS)
    assert controller.sources["scanner"].text == "scanned MOW-STD"
    assert window.scan_hint.text() == "Added Lawn Mower Standard"
    # a product name typed in any case
    qtbot.keyClicks(box, "duct tape")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert controller.session.view.basket == ("MOW-STD", "TAPE")
    # the completer offers names with their SKU; picking one adds it once
    model = box.completer_.model()
    rows = [model.index(i, 0).data() for i in range(model.rowCount())]
    assert "Grass Catcher · GRASS-CATCH" in rows
    assert "Discontinued Rake · OLD" not in rows               # inactive products are left out
    box.completer_.activated[str].emit("Grass Catcher · GRASS-CATCH")
    assert controller.session.view.basket == ("MOW-STD", "TAPE", "GRASS-CATCH")
    qtbot.waitUntil(lambda: box.text() == "", timeout=WAIT_MS)
    # an unknown code says so and changes nothing
    qtbot.keyClicks(box, "NOPE-123")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert controller.session.view.basket == ("MOW-STD", "TAPE", "GRASS-CATCH")
    assert "No product matches" in window.scan_hint.text()
    assert window.scan_hint.property("level") == "error"
    controller.writer.flush(5.0)
    shown = [e for e in read_events(controller.plan.rules_db) if e["action"] == "shown"]
    assert shown and {e["source"] for e in shown} == {"scan"}
    assert {e["sale_id"] for e in shown} == {controller.session.view.sale_id}
    assert controller.session.view.sale_id.startswith("local-")
