"""The panel records each ended sale (holdout or not) for the earnings report: a sale the till
closes, and the open one when the panel closes."""

from __future__ import annotations

from pathlib import Path

from panel_harness import WAIT_MS, TillWriter, card_skus, make_context

from conftest import make_till
from possuggest.store.rule_store import RuleStore
from possuggest.ui.controller import PanelOptions


def _sales(path: Path) -> list[dict]:
    with RuleStore(path) as store:
        return store.sales()


def test_ended_sales_reach_the_report_table(harness, qtbot, tmp_path: Path) -> None:
    till = make_till(tmp_path / "till.db")
    ctx = make_context(tmp_path / "data", till)
    controller, window = harness.open(ctx, PanelOptions(api_enabled=False))
    qtbot.waitUntil(lambda: controller.rules_state == "ready", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: controller.sources["till"].state == "ok", timeout=WAIT_MS)
    writer = TillWriter(till)
    first = writer.open_sale()
    writer.add_line(first, "MOW-STD", price=249.0)
    qtbot.waitUntil(lambda: "GRASS-CATCH" in card_skus(window), timeout=WAIT_MS)
    writer.close_sale(first)
    second = writer.open_sale()
    writer.add_line(second, "DRILL-18V", price=89.0)
    qtbot.waitUntil(lambda: "BITS" in card_skus(window), timeout=WAIT_MS)
    rules_db = controller.plan.rules_db
    controller.writer.flush(5.0)
    qtbot.waitUntil(lambda: [s["sale_id"] for s in _sales(rules_db)] == [str(first)],
                    timeout=WAIT_MS)
    harness.close(controller, window)           # the open sale is recorded on the way out
    sales = _sales(rules_db)
    assert [s["sale_id"] for s in sales] == [str(first), str(second)]
    mower = sales[0]
    assert mower["holdout"] == 0 and mower["items"] == 1 and mower["n_shown"] >= 1
    assert mower["value"] > 0
