"""Accepting helps ring it up (issue 11), in the sale session without Qt: an accepted item waits
in ``view.to_ring`` (taking a card's place) until the sale holds it, is confirmed once in
``view.rung_up``, and one never rung up is logged as 'declined' / 'not-rung'."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import PRODUCTS
from possuggest.core.config import MiningSettings, PolicySettings, Settings
from possuggest.core.products import Product
from possuggest.mining.refresh import refresh
from possuggest.serving.engine import SuggestionEngine
from possuggest.serving.sale_session import SaleSession
from possuggest.store.rule_store import RuleStore

CATALOG = {p[0]: Product(p[0], p[1], p[2], p[3], p[4], p[5], p[6], bool(p[7])) for p in PRODUCTS}


@pytest.fixture
def engine(tmp_path: Path, till: Path) -> SuggestionEngine:
    refresh(till, tmp_path / "p.db", Settings(mining=MiningSettings(upgrade_min_count=3)))
    with RuleStore(tmp_path / "p.db") as store:
        return SuggestionEngine(store.load_active(), CATALOG,
                                PolicySettings(max_suggestions=3, min_card_lift=1.5))


def _skus(items: tuple) -> list[str]:
    return [s.sku for s in items]


def test_accepted_item_waits_then_is_confirmed(engine: SuggestionEngine) -> None:
    events: list[dict] = []
    s = SaleSession(engine, "1", sink=events.extend)
    v = s.update("10", ["MOW-STD"], "till")
    assert len(v.suggestions) == 3
    first, rest = v.suggestions[0], _skus(v.suggestions[1:])
    v = s.accept(first.sku, "tap")
    assert _skus(v.to_ring) == [first.sku] and v.to_ring[0] == first
    assert first.sku not in _skus(v.suggestions)
    assert len(v.suggestions) == 2                    # the accepted card keeps its place
    assert _skus(v.suggestions) == rest
    v = s.update("10", ["MOW-STD", "TAPE"], "till")   # something else rung up: still waiting
    assert _skus(v.to_ring) == [first.sku] and v.rung_up == ()
    v = s.update("10", ["MOW-STD", "TAPE", first.sku], "till")
    assert v.to_ring == () and _skus(v.rung_up) == [first.sku]
    assert len(v.suggestions) <= 2                    # the confirmation holds the place
    second = v.suggestions[0].sku
    v = s.accept(second, "key")
    assert _skus(v.rung_up) == [first.sku]            # an accept is not a basket change
    assert _skus(v.to_ring) == [second]
    v = s.update("10", ["MOW-STD", "TAPE", first.sku, "BITS"], "till")
    assert v.rung_up == ()                            # the next basket change: no longer news
    accepted = [(e["sku"], e["source"]) for e in events if e["action"] == "accepted"]
    assert accepted[0] == (first.sku, "tap")
    assert (first.sku, "basket") not in accepted      # counted once, as the cashier's accept
    s.update("11", ["DRILL-18V"], "till")              # the sale ended: only the second waits
    assert [(e["sku"], e["source"]) for e in events if e["action"] == "declined"] == [
        (second, "not-rung")]


def test_accepted_but_never_rung_is_logged_when_the_sale_ends(engine: SuggestionEngine) -> None:
    events: list[dict] = []
    s = SaleSession(engine, "1", sink=events.extend)
    v = s.update("20", ["MOW-STD"], "till")
    a, b = v.suggestions[0], v.suggestions[1]
    s.accept(a.sku, "key")
    v = s.accept(b.sku, "api")
    assert _skus(v.to_ring) == [a.sku, b.sku] and len(v.suggestions) == 1
    s.update("20", ["MOW-STD", a.sku], "till")         # a is rung up, b never is
    v = s.update(None, [], "till")                     # the till closed the sale
    assert v.to_ring == () and v.rung_up == ()
    declined = [e for e in events if e["action"] == "declined"]
    assert [(e["sku"], e["source"], e["sale_id"], e["rule_id"]) for e in declined] == [
        (b.sku, "not-rung", "20", b.rule_id)]
    # a cleared basket ends the sale too
    v = s.update("21", ["MOW-STD"], "till")
    c = v.suggestions[0]
    s.accept(c.sku, "tap")
    s.clear("scan")
    assert [(e["sku"], e["sale_id"]) for e in events if e["action"] == "declined"][-1] == \
        (c.sku, "21")


def test_withdrawn_accept_frees_the_place(engine: SuggestionEngine) -> None:
    events: list[dict] = []
    s = SaleSession(engine, "1", sink=events.extend)
    v = s.update("30", ["MOW-STD"], "till")
    top = v.suggestions[0]
    v = s.accept(top.sku, "tap")
    assert len(v.suggestions) == 2
    v = s.withdraw(top.sku)
    assert v.to_ring == () and top.sku not in _skus(v.suggestions)     # not offered again
    assert len(v.suggestions) == 2 or len(v.suggestions) == 3
    assert [(e["sku"], e["action"], e["source"]) for e in events if e["action"] == "declined"] \
        == [(top.sku, "declined", "not-rung")]
    s.update("31", ["DRILL-18V"], "till")              # nothing more to log at the sale's end
    assert len([e for e in events if e["action"] == "declined"]) == 1
    assert s.withdraw("NOT-THERE").to_ring == ()       # withdrawing nothing logs nothing
    assert len([e for e in events if e["action"] == "declined"]) == 1


def test_accept_of_an_item_already_in_the_sale_does_not_wait(engine: SuggestionEngine) -> None:
    s = SaleSession(engine, "1")
    v = s.update("40", ["MOW-STD"], "till")
    sku = v.suggestions[0].sku
    s.update("40", ["MOW-STD", sku], "till")           # rung up before the cashier tapped
    assert s.accept(sku, "tap").to_ring == ()
    assert s.accept("UNKNOWN-SKU", "api").to_ring == ()    # never shown: nothing to show
