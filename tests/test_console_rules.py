"""The console's Rules tab on the real panel: filters and sorts over a generated rule set,
pin / block / note per rule (written to the manager's config, reaching the running panel's
cards), manual rules and upgrade paths refused next to the field with nothing saved, and a
click on the scatter selecting the rule in the table."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import shiboken6
from panel_harness import WAIT_MS, TillWriter, card_skus
from PySide6.QtCore import QObject, QPoint, Qt, Signal

from possuggest.core.products import Product
from possuggest.services.config_edit import manager_config_file
from possuggest.store.rule_query import RuleQuery, RuleRow
from possuggest.store.rule_store import RuleSetInfo, RuleStore
from possuggest.ui.console.rules_model import COLUMN_KEYS, RuleRole
from possuggest.ui.console.rules_tab import RulesTab
from possuggest.ui.console.window import ManagerConsole

LIVE_MS = 5000          # the live reloader polls the config every 0.5 s
COMMENT = "# the manager's own words — keep them\n"


@pytest.fixture
def console(panel, qtbot):
    """(console, rules tab, panel parts); the console is closed and its thread checked."""
    controller, window, till, ctx = panel
    cfg = manager_config_file(ctx)
    cfg.write_text(COMMENT + cfg.read_text(encoding="utf-8"), encoding="utf-8")
    con = ManagerConsole(controller, window)
    con.show()
    tab = con.show_tab("Rules")
    assert isinstance(tab, RulesTab)
    qtbot.waitUntil(lambda: tab.model.view is not None and not tab.model.busy, timeout=WAIT_MS)
    model = tab.model
    yield con, tab, panel
    if shiboken6.isValid(con):            # a test may have closed it (deleted on close)
        con.close()
    assert not model.running              # the query thread ended with the console


def rules(tab: RulesTab) -> list[RuleRow]:
    m = tab.model
    return [m.data(m.index(r, 0), RuleRole) for r in range(m.rowCount())]


def settle(qtbot, tab: RulesTab) -> None:
    """Wait until the tab's filter has been applied and its answer is in."""
    qtbot.waitUntil(lambda: not tab._debounce.isActive() and not tab.model.busy
                    and tab.model.view is not None
                    and tab.model.view.filter == tab.model.filter, timeout=WAIT_MS)


def find_rule(tab: RulesTab, with_sku: str, sku: str) -> RuleRow:
    hits = [r for r in rules(tab) if r.with_skus == (with_sku,) and r.suggest_sku == sku]
    assert hits, f"no rule {with_sku} → {sku} in the table"
    return hits[0]


# -- browsing a generated rule set ------------------------------------------------------------
def write_generated_set(db: Path, n_products: int = 120, n_rules: int = 6000,
                        seed: int = 3) -> int:
    rng = np.random.default_rng(seed)
    cats = ["Paint", "Garden", "Tools", "Plumbing"]
    words = ["Brush", "Hose", "Roller", "Pipe", "Saw", "Glove"]
    products = [Product(f"G{i:04d}", f"{words[i % 6]} {('Pro', 'Mini', 'Eco')[i % 3]} {i}",
                        cats[i % 4], "", float(5 + i)) for i in range(n_products)]
    skus = [p.sku for p in products]
    pairs = rng.choice(n_products * n_products, size=n_rules * 2, replace=False)
    a, b = pairs // n_products, pairs % n_products
    keep = a != b
    a, b = a[keep][:n_rules], b[keep][:n_rules]
    cnt = rng.integers(2, 500, len(a)).astype(float)
    conf = rng.uniform(0.01, 0.9, len(a))
    frame = pd.DataFrame({
        "kind": np.where(rng.random(len(a)) < 0.05, "upgrade", "cross"),
        "antecedent": [(skus[i],) for i in a], "consequent": [skus[j] for j in b],
        "count": cnt, "support": cnt / 10_000, "confidence": conf,
        "lift": rng.uniform(0.5, 12.0, len(a)), "leverage": 0.0, "conviction": 1.0,
        "antecedent_count": cnt * 2, "consequent_count": cnt * 3})
    items = pd.DataFrame({"sku": skus, "count": 100.0, "support": 0.01})
    with RuleStore(db) as store:
        return store.write_rule_set(frame, items, products,
                                    RuleSetInfo(n_baskets=10_000, n_cross=len(a)))


def test_filter_sort_and_scroll_a_generated_rule_set(console, qtbot) -> None:
    _, tab, (controller, _, _, _) = console
    new_id = write_generated_set(controller.plan.rules_db)
    # the panel takes the new active set up by itself; the tab follows the engine
    qtbot.waitUntil(lambda: tab.model.view is not None
                    and tab.model.view.rule_set_id == new_id and not tab.model.busy,
                    timeout=WAIT_MS)
    assert tab.model.rowCount() == 6000
    assert "6,000 rules · rule set" in tab.summary.text()
    assert tab.category.count() == 5                       # All + the set's four categories

    # sorted by lift, highest first, to begin with
    lifts = [r.lift for r in rules(tab)]
    assert lifts == sorted(lifts, reverse=True)
    # a header click sorts by that column (the table's own sorting)
    col = COLUMN_KEYS.index("confidence")
    tab.table.sortByColumn(col, Qt.SortOrder.AscendingOrder)
    qtbot.waitUntil(lambda: tab.model.view.sort.column == "confidence" and not tab.model.busy,
                    timeout=WAIT_MS)
    conf = [r.confidence for r in rules(tab)]
    assert conf == sorted(conf) and len(conf) == 6000
    col = COLUMN_KEYS.index("suggest")
    tab.table.sortByColumn(col, Qt.SortOrder.DescendingOrder)
    qtbot.waitUntil(lambda: tab.model.view.sort.column == "suggest" and not tab.model.busy,
                    timeout=WAIT_MS)
    names = [r.suggest_name.casefold() for r in rules(tab)]
    assert names == sorted(names, reverse=True)
    shown = tab.model.data(tab.model.index(0, col))
    top = rules(tab)[0]
    assert shown == f"{top.suggest_name} · {top.suggest_sku}"    # names shown, with codes

    # a product by name, on either side, typed as a manager types
    qtbot.keyClicks(tab.product, "hose mini")
    settle(qtbot, tab)
    got = rules(tab)
    assert got and all("hose mini" in r.suggest_name.casefold()
                       or any("hose mini" in n.casefold() for n in r.with_names) for r in got)
    # …only as the suggestion, in one category, above a lift
    tab.side.setCurrentIndex(2)
    tab.min_lift.setValue(4.0)
    settle(qtbot, tab)
    got = rules(tab)
    assert got and all("hose mini" in r.suggest_name.casefold() and r.lift >= 4.0 for r in got)
    tab.product.clear()
    tab.category.setCurrentIndex(tab.category.findText("Paint"))
    settle(qtbot, tab)
    got = rules(tab)
    assert got and {r.category for r in got} == {"Paint"}
    # by code, basket side; upgrades only; at least 50% confidence
    tab.clear_filters()
    qtbot.keyClicks(tab.product, "g0007")
    tab.side.setCurrentIndex(1)
    settle(qtbot, tab)
    assert rules(tab) and all(r.with_skus == ("G0007",) for r in rules(tab))
    tab.clear_filters()
    tab.kind.setCurrentIndex(2)
    tab.min_conf.setValue(50.0)
    settle(qtbot, tab)
    got = rules(tab)
    assert got and all(r.kind == "upgrade" and r.confidence >= 0.5 for r in got)
    qtbot.keyClicks(tab.product, "no product has this name")
    settle(qtbot, tab)
    assert tab.model.rowCount() == 0 and tab.summary.text().startswith("0 of 6,000")

    # clear: everything again; scroll to the very end and read it
    tab.clear_filters()
    settle(qtbot, tab)
    assert tab.model.rowCount() == 6000
    tab.table.scrollToBottom()
    last = tab.model.data(tab.model.index(5999, COLUMN_KEYS.index("with")))
    assert last and " · G" in last

    # these products are not in the till's catalogue: pinning is refused, nothing written
    cfg = manager_config_file(controller.ctx)
    before = cfg.read_bytes()
    tab.select_rule(tab.model.rule_at(0).rule_id)
    qtbot.mouseClick(tab.pin_button, Qt.MouseButton.LeftButton)
    assert tab.status.property("level") == "error"
    assert tab.status.text().startswith("Not saved: policy.pinned: unknown product 'G")
    assert cfg.read_bytes() == before and tab.model.pinned == ()


# -- pin, block and note: the config is written, the running panel follows ---------------------
def test_block_and_pin_a_rule_reach_the_running_panel(console, qtbot) -> None:
    _, tab, (controller, window, till, ctx) = console
    cfg = manager_config_file(ctx)
    sale = TillWriter(till).open_sale()
    TillWriter(till).add_line(sale, "MOW-STD")
    qtbot.waitUntil(lambda: "GRASS-CATCH" in card_skus(window), timeout=WAIT_MS)
    assert tab.pin_button.isEnabled() is False          # nothing selected yet

    catcher = find_rule(tab, "MOW-STD", "GRASS-CATCH")
    assert tab.select_rule(catcher.rule_id)
    assert tab.selected_rule().rule_id == catcher.rule_id and tab.block_button.isEnabled()
    qtbot.mouseClick(tab.block_button, Qt.MouseButton.LeftButton)
    text = cfg.read_text(encoding="utf-8")
    assert text.startswith(COMMENT)                                  # comments kept
    assert "MOW-STD" in text and "GRASS-CATCH" in text and "blocked" in text
    assert tab.status.property("level") == "ok" and "Blocked MOW-STD → GRASS-CATCH" in \
        tab.status.text()
    qtbot.waitUntil(lambda: "GRASS-CATCH" not in card_skus(window), timeout=LIVE_MS)
    assert ["MOW-STD", "GRASS-CATCH"] in controller.ctx.settings.policy.blocked
    qtbot.waitUntil(lambda: tab.selected_rule() is not None
                    and tab.selected_rule().status == "blocked", timeout=WAIT_MS)
    assert tab.block_button.text() == "Unblock"
    status_col = COLUMN_KEYS.index("status")
    row = tab.model.row_of(catcher.rule_id)
    assert tab.model.data(tab.model.index(row, status_col)) == "Blocked"

    # pin a rule the panel would not put first: it comes first, as the manager's pick
    others = [r for r in rules(tab) if r.with_skus == ("MOW-STD",)
              and r.suggest_sku not in ("GRASS-CATCH",) and r.kind == "cross"]
    assert others
    pick = others[-1]
    tab.select_rule(pick.rule_id)
    qtbot.mouseClick(tab.pin_button, Qt.MouseButton.LeftButton)

    def pinned_first() -> bool:
        s = controller.session.view.suggestions
        return bool(s) and s[0].sku == pick.suggest_sku and s[0].source == "pinned"

    qtbot.waitUntil(pinned_first, timeout=LIVE_MS)
    assert card_skus(window)[0] == pick.suggest_sku
    # the status filter finds it
    tab.status_filter.setCurrentIndex(1)
    settle(qtbot, tab)
    got = rules(tab)         # the rule, and any with more basket items holding the pair
    assert pick.rule_id in [r.rule_id for r in got]
    assert all(r.status == "pinned" and "MOW-STD" in r.with_skus
               and r.suggest_sku == pick.suggest_sku for r in got)
    tab.status_filter.setCurrentIndex(0)
    settle(qtbot, tab)

    # unblock: the catcher comes back; unpin: the pin is gone from the file
    tab.select_rule(catcher.rule_id)
    qtbot.waitUntil(lambda: tab.block_button.text() == "Unblock", timeout=WAIT_MS)
    qtbot.mouseClick(tab.block_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "GRASS-CATCH" in card_skus(window), timeout=LIVE_MS)
    tab.select_rule(pick.rule_id)
    qtbot.waitUntil(lambda: tab.pin_button.text() == "Unpin", timeout=WAIT_MS)
    qtbot.mouseClick(tab.pin_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not pinned_first(), timeout=LIVE_MS)
    text = cfg.read_text(encoding="utf-8")
    assert text.startswith(COMMENT) and pick.suggest_sku not in text.split("pinned", 1)[-1]
    assert controller.ctx.settings.policy.pinned == []


def test_a_note_is_kept_by_pair_and_shown_again(console, qtbot) -> None:
    con, tab, (controller, window, _, _) = console
    rule = find_rule(tab, "MOW-STD", "GRASS-CATCH")
    tab.select_rule(rule.rule_id)
    tab.edit_note()
    editor = tab.table.focusWidget()
    assert editor is not None and editor is not tab.table
    qtbot.keyClicks(editor, "Catchers are on the end cap")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.model.rule_at(tab.model.row_of(rule.rule_id)).note
                    == "Catchers are on the end cap", timeout=WAIT_MS)
    assert "Note saved on MOW-STD → GRASS-CATCH" in tab.status.text()
    with RuleQuery(controller.plan.rules_db) as rq:
        assert rq.note("MOW-STD", "GRASS-CATCH") == "Catchers are on the end cap"
    # a new console (a new thread, a new connection) shows it again
    con.close()
    again = ManagerConsole(controller, window)
    again.show()
    tab2 = again.show_tab("Rules")
    qtbot.waitUntil(lambda: tab2.model.view is not None and not tab2.model.busy,
                    timeout=WAIT_MS)
    row = tab2.model.row_of(rule.rule_id)
    assert tab2.model.data(tab2.model.index(row, COLUMN_KEYS.index("note"))) == \
        "Catchers are on the end cap"
    again.close()
    assert not tab2.model.running


# -- manual rules and upgrade paths -------------------------------------------------------------
def test_manual_rule_with_an_unknown_product_is_refused_and_nothing_saved(console, qtbot) -> None:
    _, tab, (controller, window, till, ctx) = console
    cfg = manager_config_file(ctx)
    before = cfg.read_bytes()
    dlg = tab.add_manual_rule()
    qtbot.keyClicks(dlg.with_picker.edit, "NO-SUCH-PRODUCT")
    qtbot.keyClicks(dlg.suggest_picker.edit, "Work Gloves")
    qtbot.keyClicks(dlg.reason, "Gloves for the job")
    qtbot.mouseClick(dlg.save_button, Qt.MouseButton.LeftButton)
    assert dlg.isVisible()
    assert dlg.with_picker.error.isVisibleTo(dlg)
    assert "No product in the till's catalogue matches “NO-SUCH-PRODUCT”" in \
        dlg.with_picker.error.text()
    assert not dlg.suggest_picker.error.text()              # that one was fine
    assert cfg.read_bytes() == before
    # the same product on both sides, and no reason: each refused at its field
    dlg.with_picker.edit.setText("GLOVES")
    dlg.reason.clear()
    qtbot.mouseClick(dlg.save_button, Qt.MouseButton.LeftButton)
    assert dlg.reason_error.text() == "Give the reason the cashier reads out."
    qtbot.keyClicks(dlg.reason, "Gloves for the job")
    qtbot.mouseClick(dlg.save_button, Qt.MouseButton.LeftButton)
    assert dlg.suggest_picker.error.text() == "A product cannot be suggested with itself."
    assert cfg.read_bytes() == before and dlg.isVisible()
    # by name and by code: saved with its reason, and the counter shows it
    dlg.with_picker.edit.setText("duct tape")
    qtbot.mouseClick(dlg.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=WAIT_MS)
    text = cfg.read_text(encoding="utf-8")
    assert text.startswith(COMMENT) and "Gloves for the job" in text
    assert "Manual rule saved: with TAPE suggest GLOVES" in tab.status.text()
    sale = TillWriter(till).open_sale()
    TillWriter(till).add_line(sale, "TAPE")

    def manual_card() -> bool:
        return any(s.sku == "GLOVES" and s.source == "manual"
                   and s.reason == "Gloves for the job"
                   for s in controller.session.view.suggestions)

    qtbot.waitUntil(manual_card, timeout=LIVE_MS)


def test_upgrade_path_to_itself_or_in_a_loop_is_refused(console, qtbot) -> None:
    _, tab, (controller, _, _, ctx) = console
    cfg = manager_config_file(ctx)
    before = cfg.read_bytes()
    dlg = tab.add_upgrade_path()
    qtbot.keyClicks(dlg.from_picker.edit, "Cordless Drill 18V")
    qtbot.keyClicks(dlg.to_picker.edit, "DRILL-18V")
    qtbot.mouseClick(dlg.save_button, Qt.MouseButton.LeftButton)
    assert dlg.to_picker.error.text() == "A product cannot be an upgrade of itself."
    assert cfg.read_bytes() == before
    dlg.to_picker.edit.setText("")
    qtbot.mouseClick(dlg.save_button, Qt.MouseButton.LeftButton)
    assert dlg.to_picker.error.text().startswith("Pick the upgrade")
    dlg.to_picker.set_sku("BATT-18V")
    qtbot.mouseClick(dlg.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=WAIT_MS)
    saved = cfg.read_bytes()
    assert saved != before and b"BATT-18V" in saved
    # back the other way would loop: refused next to the field, nothing written
    dlg2 = tab.add_upgrade_path()
    dlg2.from_picker.set_sku("BATT-18V")
    dlg2.to_picker.set_sku("DRILL-18V")
    qtbot.mouseClick(dlg2.save_button, Qt.MouseButton.LeftButton)
    assert "loop" in dlg2.to_picker.error.text() and dlg2.isVisible()
    assert cfg.read_bytes() == saved
    qtbot.waitUntil(lambda: any(u.from_sku == "DRILL-18V" and u.to_sku == "BATT-18V"
                                for u in controller.ctx.settings.policy.upgrade_paths),
                    timeout=LIVE_MS)
    dlg2.reject()


# -- the scatter --------------------------------------------------------------------------------
def test_clicking_a_point_on_the_scatter_selects_its_rule(console, qtbot) -> None:
    _, tab, _ = console
    qtbot.waitUntil(lambda: tab.scatter is not None, timeout=WAIT_MS)
    sc = tab.scatter
    assert sc.isVisible()
    qtbot.waitUntil(lambda: sc.points == tab.model.rowCount() > 0, timeout=WAIT_MS)
    assert "Click a point" in sc.caption.text()
    sample = sc._sample
    # a point with no other within 12 px, so the click can only mean that rule
    pos = {int(r): sc.point_position(int(r)) for r in sample["rule_id"]}
    assert all(p is not None for p in pos.values())

    def alone(rid: int) -> bool:
        p = pos[rid]
        return all(math.hypot(p.x() - q.x(), p.y() - q.y()) > 12
                   for r, q in pos.items() if r != rid)

    lonely = [r for r in pos if alone(r)]
    assert lonely, "every point overlaps another"
    rid = lonely[0]
    assert tab.selected_rule() is None or tab.selected_rule().rule_id != rid
    p = pos[rid]
    qtbot.mouseClick(sc.plot.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(round(p.x()), round(p.y())))
    qtbot.waitUntil(lambda: tab.selected_rule() is not None
                    and tab.selected_rule().rule_id == rid, timeout=WAIT_MS)
    assert sc.selected == rid
    row = tab.model.row_of(rid)
    assert tab.table.selectionModel().isRowSelected(row)
    # the chart follows the filter: only rules the table holds are drawn
    tab.kind.setCurrentIndex(2)
    settle(qtbot, tab)
    qtbot.waitUntil(lambda: sc.points == tab.model.rowCount(), timeout=WAIT_MS)
    # hidden and shown again from its button
    tab.chart_button.click()
    assert not sc.isVisible()
    tab.chart_button.click()
    assert sc.isVisible()


def test_pyqtgraph_is_not_imported_until_the_rules_tab_is_built() -> None:
    """The panel's start-up path, and the console importing its tab modules, leave the chart
    library out; it comes in when the Rules tab is first shown."""
    import os
    import subprocess
    import sys

    code = ("import sys\n"
            "from possuggest.ui.app import ensure_app, open_panel\n"
            "from possuggest.ui import controller, panel, workers\n"
            "from possuggest.ui.console import rules_tab, rules_model, manual_dialogs\n"
            "assert 'pyqtgraph' not in sys.modules\n"
            "from possuggest.ui.console import scatter\n"
            "assert 'pyqtgraph' in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True,
                   cwd=Path(__file__).resolve().parents[1],
                   env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))


class _StubController(QObject):
    """Just what the Rules tab reads of the panel's controller (a store without a panel)."""

    settingsChanged = Signal()
    engineChanged = Signal(object)

    def __init__(self, rules_db: Path, data_dir: Path) -> None:
        super().__init__()
        from possuggest.services.context import AppContext

        data_dir.mkdir(parents=True, exist_ok=True)
        self.ctx = AppContext.create(str(data_dir), None, None, strict=False)
        self.plan = SimpleNamespace(rules_db=rules_db)
        self.products: dict = {}

    def look(self):
        return SimpleNamespace(theme="light")


def test_no_rules_yet_then_rules_and_a_damaged_database(qtbot, tmp_path: Path) -> None:
    db = tmp_path / "data" / "possuggest.db"
    stub = _StubController(db, tmp_path / "data")
    tab = RulesTab(stub)
    qtbot.addWidget(tab)
    tab.show()
    try:
        qtbot.waitUntil(lambda: tab.model.error is not None, timeout=WAIT_MS)
        assert tab.status.isVisible() and tab.status.property("level") == "info"
        assert "no rules yet" in tab.status.text().lower()
        assert tab.model.rowCount() == 0 and not tab.pin_button.isEnabled()
        # the first refresh writes a set: the tab shows it and the message goes
        write_generated_set(db, n_products=30, n_rules=300)
        stub.engineChanged.emit(None)
        qtbot.waitUntil(lambda: tab.model.rowCount() == 300, timeout=WAIT_MS)
        assert not tab.status.isVisible()
    finally:
        tab.shutdown()
    assert not tab.model.running
    # a file that is not possuggest's database: said in the tab, nothing crashes
    bad = tmp_path / "bad" / "possuggest.db"
    bad.parent.mkdir()
    bad.write_bytes(b"not a database at all" * 200)
    tab2 = RulesTab(_StubController(bad, tmp_path / "bad"))
    qtbot.addWidget(tab2)
    try:
        qtbot.waitUntil(lambda: tab2.model.error is not None, timeout=WAIT_MS)
        assert tab2.status.property("level") == "error"
        assert tab2.status.text().startswith("The rules cannot be read: possuggest database")
        assert "damaged" in tab2.status.text()
    finally:
        tab2.shutdown()
    assert not tab2.model.running
