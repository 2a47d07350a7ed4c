"""The sale records the report measures: one per ended sale, holdout sales included, written
by the sale session through the event writer into possuggest's sales table; and the holdout
on by default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import PRODUCTS
from possuggest.core.config import MiningSettings, PolicySettings, Settings
from possuggest.core.products import Product
from possuggest.mining.refresh import refresh
from possuggest.services.report import build_report
from possuggest.serving.engine import SuggestionEngine
from possuggest.serving.events import EventWriter, in_holdout
from possuggest.serving.sale_session import (
    BasketUpdate,
    SaleSession,
    SessionHub,
    counted_quantities,
    counted_skus,
)
from possuggest.store.rule_store import RuleStore

CATALOG = {p[0]: Product(p[0], p[1], p[2], p[3], p[4], p[5], p[6], bool(p[7])) for p in PRODUCTS}
PRICE = {p[0]: p[4] for p in PRODUCTS}


@pytest.fixture
def engine(tmp_path: Path, till: Path) -> SuggestionEngine:
    refresh(till, tmp_path / "p.db", Settings(mining=MiningSettings(upgrade_min_count=3)))
    with RuleStore(tmp_path / "p.db") as store:
        return SuggestionEngine(store.load_active(), CATALOG, PolicySettings())


def test_holdout_is_on_by_default_and_drawn_per_sale() -> None:
    assert Settings().holdout.share == pytest.approx(0.10)
    drawn = [in_holdout("1", str(i), 0.10) for i in range(5000)]
    assert 0.085 < sum(drawn) / len(drawn) < 0.115
    assert drawn == [in_holdout("1", str(i), 0.10) for i in range(5000)]    # deterministic
    assert not in_holdout("1", None, 0.10) and not in_holdout("1", "7", 0.0)


def test_quantities_are_kept_for_the_record_not_for_suggestions() -> None:
    lines = [("A", 2.0), ("B", 1.0), ("A", 1.0), ("C", -1.0), ("", 3.0), ("D", 0.0)]
    assert counted_skus(lines) == ["A", "B"]
    assert counted_quantities(lines) == {"A": 3.0, "B": 1.0}


def test_a_sale_is_recorded_when_it_ends(engine: SuggestionEngine) -> None:
    events: list[dict[str, Any]] = []
    sales: list[dict[str, Any]] = []
    s = SaleSession(engine, "1", sink=events.extend, sale_sink=sales.extend)
    v = s.apply(BasketUpdate("1", "10", (("DRILL-18V", 1.0),), "till"))
    shown = [x.sku for x in v.suggestions]
    assert shown[0] == "BITS" and sales == []
    s.apply(BasketUpdate("1", "10", (("DRILL-18V", 1.0), ("BITS", 2.0), ("TAPE", 3.0)), "till"))
    s.apply(BasketUpdate("1", None, (), "till"))          # the till closed the sale
    assert len(sales) == 1 and all("record" not in e for e in events)
    rec = sales[0]
    assert rec["record"] == "sale" and (rec["register"], rec["sale_id"]) == ("1", "10")
    # value: 99 + 2 x 19 + 3 x 5 = 152 from the engine's prices; 6 units
    assert rec["value"] == pytest.approx(152.0) and rec["items"] == 6.0
    assert rec["holdout"] is False and rec["n_shown"] == len(
        {e["sku"] for e in events if e["action"] == "shown"})
    # BITS was a card and was rung up twice: accepted, its value 2 x 19 (TAPE, if it was
    # a card, too)
    taken = [k for k in ("BITS", "TAPE") if k in {e["sku"] for e in events
                                                    if e["action"] == "shown"}]
    assert rec["n_accepted"] == len(taken)
    assert rec["accepted_value"] == pytest.approx(sum(
        PRICE[k] * {"BITS": 2, "TAPE": 3}[k] for k in taken))
    assert rec["rule_set_id"] == engine.rule_set_id and rec["started"] <= rec["ended"]
    s.apply(BasketUpdate("1", None, (), "till"))          # nothing open: nothing recorded
    assert len(sales) == 1


def test_accepted_but_never_rung_up_is_not_counted(engine: SuggestionEngine) -> None:
    sales: list[dict[str, Any]] = []
    s = SaleSession(engine, "1", sale_sink=sales.extend)
    v = s.update("20", ["MOW-STD"])
    s.accept(v.suggestions[0].sku, "key")                  # accepted, never rung up
    s.update("21", ["TAPE"])                                # the next sale ends this one
    assert [r["sale_id"] for r in sales] == ["20"]
    assert sales[0]["n_accepted"] == 0 and sales[0]["accepted_value"] == 0.0
    assert sales[0]["value"] == pytest.approx(249.0) and sales[0]["items"] == 1.0
    s.clear("scan")                                         # a cleared basket ends one too
    assert [r["sale_id"] for r in sales] == ["20", "21"]


def test_holdout_sales_are_recorded_as_holdout(engine: SuggestionEngine) -> None:
    hold = next(sid for sid in map(str, range(100, 400)) if in_holdout("1", sid, 0.3))
    sales: list[dict[str, Any]] = []
    hub = SessionHub(engine, 0.3, sale_sink=sales.extend)
    v = hub.apply(BasketUpdate("1", hold, (("DRILL-18V", 1.0),), "api"))
    assert v.holdout and v.suggestions == ()
    hub.end_sales()                                         # shutdown: open sales end
    assert len(sales) == 1 and sales[0]["holdout"] is True and sales[0]["n_shown"] == 0
    assert sales[0]["value"] == pytest.approx(99.0)


def test_no_record_without_a_catalogue_or_a_sink() -> None:
    sales: list[dict[str, Any]] = []
    s = SaleSession(None, "1", sale_sink=sales.extend)     # no rules yet: no prices
    s.update("5", ["TAPE"])
    s.update("6", ["TAPE"])
    assert sales == []
    SaleSession(None, "1").update("7", ["TAPE"])            # no sink: nothing to record


def test_the_clock_dates_events_and_records(engine: SuggestionEngine) -> None:
    import datetime as dt

    moment = dt.datetime(2026, 6, 1, 14, 30, tzinfo=dt.timezone.utc).timestamp()
    events: list[dict[str, Any]] = []
    sales: list[dict[str, Any]] = []
    s = SaleSession(engine, "1", sink=events.extend, sale_sink=sales.extend,
                    clock=lambda: moment)
    s.update("30", ["DRILL-18V"])
    s.end_sale()
    assert events and all(e["ts"] == "2026-06-01T14:30:00" for e in events)
    assert sales[0]["started"] == sales[0]["ended"] == "2026-06-01T14:30:00"


def test_event_writer_stores_sale_records_and_drops_a_bad_one(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    w = EventWriter(db).start()
    try:
        w.put([{"sku": "TAPE", "action": "shown", "register": "1", "sale_id": "1",
                "ts": "2026-03-01T10:00:00"},
               {"record": "sale", "register": "1", "sale_id": "1",
                "ended": "2026-03-01T10:02:00", "value": 5.0, "items": 1, "n_shown": 1},
               {"record": "sale", "register": "1", "ended": "2026-03-01T10:03:00"},  # no id
               {"record": "sale", "register": "1", "sale_id": "2", "holdout": True,
                "ended": "2026-03-01T10:04:00", "value": 9.0, "items": 2}])
        assert w.flush(10)
    finally:
        w.close()
    assert w.written == 3 and w.dropped == 1
    with RuleStore(db) as store:
        assert [(r["sale_id"], r["holdout"], r["value"]) for r in store.sales()] == [
            ("1", 0, 5.0), ("2", 1, 9.0)]
        assert len(store.events()) == 1
    rep = build_report(db)
    assert (rep.sales, rep.holdout_sales, rep.shown) == (2, 1, 1)
    assert rep.basket_value == {"treated": 5.0, "holdout": 9.0}
