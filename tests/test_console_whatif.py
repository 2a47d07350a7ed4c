"""The console's What-if tab on a real running panel: it shows the cards the counter shows, with
the evidence and the reasons for the rest, and a pin or block saved through the console's
config editor changes the preview (and the panel) at once."""

from __future__ import annotations

from pathlib import Path

from panel_harness import WAIT_MS, TillWriter, card_skus, make_context

from conftest import make_till
from possuggest.services.config_edit import ConfigEditor
from possuggest.ui.controller import PanelOptions

NO_HOLDOUT = "\n[holdout]\nshare = 0.0\n"     # every sale shows cards: the preview's subject


def _open(harness, qtbot, tmp_path: Path, start: bool = True):
    till = make_till(tmp_path / "till.db")
    ctx = make_context(tmp_path / "data", till, extra_config=NO_HOLDOUT)
    controller, window = harness.open(ctx, PanelOptions(api_enabled=False), start=start)
    if start:
        qtbot.waitUntil(lambda: controller.rules_state == "ready"
                        and controller.sources["till"].state == "ok", timeout=WAIT_MS)
    return controller, window, till, ctx


def _tab(controller, qtbot):
    from possuggest.ui.console.whatif import WhatIfTab

    tab = WhatIfTab(controller)
    qtbot.addWidget(tab)
    return tab


def _ask(tab, qtbot, basket: list[str]):
    with qtbot.waitSignal(tab.explained, timeout=WAIT_MS) as sig:
        tab.set_basket(basket)
    return sig.args[0]


def test_preview_shows_the_panels_cards_with_evidence(harness, qtbot, tmp_path) -> None:
    controller, window, till, _ = _open(harness, qtbot, tmp_path)
    sale = TillWriter(till).open_sale()
    TillWriter(till).add_line(sale, "MOW-STD")
    qtbot.waitUntil(lambda: "GRASS-CATCH" in card_skus(window), timeout=WAIT_MS)
    tab = _tab(controller, qtbot)
    with qtbot.waitSignal(tab.explained, timeout=WAIT_MS):
        tab.use_counter_basket()
    assert tab.basket == ["MOW-STD"]
    assert tab.shown_skus() == card_skus(window)
    assert tab.shown_skus() == [s.sku for s in controller.engine.suggest(["MOW-STD"])]
    ex = tab.explanation
    catcher = next(c for c in ex.cards if c.suggestion.sku == "GRASS-CATCH")
    assert catcher.evidence is not None and catcher.evidence.antecedent == ("MOW-STD",)
    assert catcher.evidence.count and catcher.evidence.confidence and catcher.evidence.lift
    # the evidence is drawn beside the card, the reasons in the "not shown" table
    row = tab._card_rows[tab.shown_skus().index("GRASS-CATCH")]
    assert "confidence" in " ".join(lbl.text() for lbl in row.findChildren(type(tab.summary)))
    rows = {sku: (label, text) for sku, label, text in tab.not_shown_rows()}
    assert rows["SPARK"][0] == "Out of stock"
    assert "card" in tab.summary.text() and "not shown" in tab.summary.text()
    # typed by name, by code; a product that does not exist says so and changes nothing
    with qtbot.waitSignal(tab.explained, timeout=WAIT_MS):
        assert tab.add_item("Cordless Drill 18V · DRILL-18V")
    assert tab.basket == ["MOW-STD", "DRILL-18V"]
    assert tab.shown_skus() == [s.sku for s in controller.engine.suggest(tab.basket)]
    assert not tab.add_item("no such thing")
    assert not tab.status.isHidden() and "No product matches" in tab.status.text()
    assert tab.basket == ["MOW-STD", "DRILL-18V"]
    # why not: a product shown, one out of stock, one with no rule from this basket
    assert "Shown as card" in tab.ask_why_not(tab.shown_skus()[0])
    assert "Out of stock" in tab.ask_why_not("Spark Plug")
    _ask(tab, qtbot, ["DRILL-18V"])
    assert "No rule from this basket" in tab.ask_why_not("TAPE")
    assert "No product matches" in tab.ask_why_not("nothing like it")
    # a time of day is asked of the engine as such
    with qtbot.waitSignal(tab.explained, timeout=WAIT_MS) as sig:
        tab.set_time(9, 30, weekend=True)
    assert sig.args[0].when is not None
    assert tab.shown_skus() == [s.sku for s in controller.engine.suggest(
        ["DRILL-18V"], when=sig.args[0].when)]
    tab.shutdown()
    assert not tab.busy


def test_pinning_and_blocking_change_the_preview_and_the_panel(harness, qtbot, tmp_path) -> None:
    from possuggest.ui.console.window import ManagerConsole

    controller, window, till, ctx = _open(harness, qtbot, tmp_path)
    console = ManagerConsole(controller, window)      # the real console (PIN tested elsewhere)
    qtbot.addWidget(console)
    tab = console.show_tab("What-if")
    assert tab is not None
    _ask(tab, qtbot, ["MOW-STD"])
    assert "GRASS-CATCH" in tab.shown_skus()
    sale = TillWriter(till).open_sale()
    TillWriter(till).add_line(sale, "MOW-STD")
    qtbot.waitUntil(lambda: "GRASS-CATCH" in card_skus(window), timeout=WAIT_MS)

    editor = ConfigEditor.for_context(ctx, controller.products)
    editor.add_pair("blocked", "MOW-STD", "GRASS-CATCH")
    qtbot.waitUntil(lambda: "GRASS-CATCH" not in tab.shown_skus()
                    and "GRASS-CATCH" not in card_skus(window), timeout=WAIT_MS)
    rows = {sku: (label, text) for sku, label, text in tab.not_shown_rows()}
    assert rows["GRASS-CATCH"] == ("Blocked",
                                   "Blocked with Lawn Mower Standard (policy.blocked)")
    assert tab.shown_skus() == card_skus(window)

    editor.add_pair("pinned", "MOW-STD", "GLOVES")
    qtbot.waitUntil(lambda: tab.shown_skus()[:1] == ["GLOVES"]
                    and card_skus(window)[:1] == ["GLOVES"], timeout=WAIT_MS)
    card = tab.explanation.cards[0]
    assert card.source == "pinned" and card.source_text == "Pinned by the manager"

    editor.remove_pair("blocked", "MOW-STD", "GRASS-CATCH")
    qtbot.waitUntil(lambda: "GRASS-CATCH" in tab.shown_skus(), timeout=WAIT_MS)
    assert tab.shown_skus() == card_skus(window)
    console.close()
    assert not tab.busy


def test_no_rules_yet_is_said_not_crashed(harness, qtbot, tmp_path) -> None:
    controller, _, _, _ = _open(harness, qtbot, tmp_path, start=False)
    assert controller.engine is None
    tab = _tab(controller, qtbot)
    assert not tab.status.isHidden() and "No rules are loaded yet" in tab.status.text()
    assert tab.shown_skus() == [] and tab.not_shown_rows() == []
    assert "basket first" in tab.ask_why_not("MOW-STD")
    tab.shutdown()
