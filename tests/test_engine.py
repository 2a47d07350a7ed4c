"""The suggestion engine: evidence, reasons, and the manager's policy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import PRODUCTS, pattern_baskets
from possuggest.core.config import ManualRule, MiningSettings, PolicySettings, UpgradePath
from possuggest.core.products import Product
from possuggest.core.transactions import Transactions
from possuggest.mining.miner import mine_rules
from possuggest.serving.engine import SuggestionEngine
from possuggest.store.rule_store import RuleArrays, RuleSetInfo, RuleStore

CATALOG = {p[0]: Product(p[0], p[1], p[2], p[3], p[4], p[5], p[6], bool(p[7])) for p in PRODUCTS}


@pytest.fixture(scope="module")
def arrays(tmp_path_factory: pytest.TempPathFactory) -> RuleArrays:
    tx = Transactions.from_baskets(pattern_baskets())
    res = mine_rules(tx, MiningSettings(upgrade_min_count=3, upgrade_max_together=0.25), CATALOG)
    path: Path = tmp_path_factory.mktemp("rules") / "p.db"
    with RuleStore(path) as store:
        store.write_rule_set(res.rules, res.item_counts, [], RuleSetInfo(n_baskets=tx.n_baskets))
        loaded = store.load_active()
    assert loaded is not None
    return loaded


def engine(arrays: RuleArrays, **policy: object) -> SuggestionEngine:
    return SuggestionEngine(arrays, products=CATALOG, policy=PolicySettings(**policy))


def test_cross_sell_with_reason(arrays: RuleArrays) -> None:
    sugs = engine(arrays).suggest(["DRILL-18V"])
    assert sugs[0].sku == "BITS" and sugs[0].kind == "cross"
    assert sugs[0].reason == "Most Cordless Drill buyers take one — 100%"      # said aloud
    assert sugs[0].detail.startswith("Bought with Cordless Drill 18V in 100% of sales")
    assert sugs[0].because == ("DRILL-18V",)
    assert sugs[0].price == 19.0
    assert len(sugs) <= 3


def test_never_basket_items_out_of_stock_or_inactive(arrays: RuleArrays) -> None:
    e = engine(arrays, max_suggestions=10)
    for basket in (["MOW-STD"], ["MOW-STD", "OIL-4T"], ["GLOVES"], ["TAPE", "GLOVES"]):
        skus = [s.sku for s in e.suggest(basket)]
        assert not set(skus) & set(basket)
        assert "SPARK" not in skus           # out of stock
        assert "OLD" not in skus             # inactive
        assert len(skus) == len(set(skus))


def test_unknown_skus_ignored(arrays: RuleArrays) -> None:
    e = engine(arrays)
    assert e.suggest(["NOPE"]) == []
    assert [s.sku for s in e.suggest(["NOPE", "DRILL-18V"])] == \
        [s.sku for s in e.suggest(["DRILL-18V"])]


def test_upgrade_offered_and_not_when_upgrade_in_basket(arrays: RuleArrays) -> None:
    e = engine(arrays, max_suggestions=5)
    ups = [s for s in e.suggest(["MOW-STD"]) if s.kind == "upgrade"]
    assert [u.sku for u in ups] == ["MOW-DLX"]
    assert ups[0].price == pytest.approx(120.0)
    assert ups[0].price_text == "+$120"
    assert ups[0].reason == "1 in 8 Lawn Mower Standard buyers choose it"
    assert ups[0].detail == "1 in 8 shoppers pick it over Lawn Mower Standard"
    assert not [s for s in e.suggest(["MOW-STD", "MOW-DLX"]) if s.kind == "upgrade"]


def test_blocked_pinned_manual(arrays: RuleArrays) -> None:
    e = engine(arrays, blocked=[["DRILL-18V", "BITS"]])
    assert "BITS" not in [s.sku for s in e.suggest(["DRILL-18V"])]
    e = engine(arrays, blocked=[["*", "BITS"]])
    assert "BITS" not in [s.sku for s in e.suggest(["DRILL-18V"])]
    e = engine(arrays, pinned=[["DRILL-18V", "GLOVES"]])
    first = e.suggest(["DRILL-18V"])[0]
    assert first.sku == "GLOVES" and first.source == "pinned"
    assert first.reason == "Store pick to go with Cordless Drill 18V"
    e = engine(arrays, manual=[ManualRule("TAPE", "BATT-18V", "Charge up for the weekend")])
    first = e.suggest(["TAPE"])[0]
    assert (first.sku, first.reason, first.source) == ("BATT-18V", "Charge up for the weekend", "manual")


def test_manual_upgrade_path_and_excluded_category(arrays: RuleArrays) -> None:
    e = engine(arrays, upgrade_paths=[UpgradePath("BITS", "BATT-18V")], max_suggestions=5)
    ups = [s for s in e.suggest(["BITS"]) if s.kind == "upgrade"]
    assert ups and ups[0].sku == "BATT-18V" and ups[0].price == pytest.approx(30.0)
    e = engine(arrays, excluded_categories=["power tools"], max_suggestions=10)
    assert all(CATALOG[s.sku].category != "Power Tools" for s in e.suggest(["DRILL-18V", "MOW-STD"]))


def test_dismissed_items_excluded_and_limits(arrays: RuleArrays) -> None:
    e = engine(arrays)
    top = e.suggest(["DRILL-18V"])[0].sku
    assert top not in [s.sku for s in e.suggest(["DRILL-18V"], exclude=[top])]
    assert len(e.suggest(["DRILL-18V"], n=1)) == 1
    assert e.suggest([]) == []


def test_thresholds_filter_rules(arrays: RuleArrays) -> None:
    strict = SuggestionEngine(arrays, products=CATALOG,
                              policy=PolicySettings(min_confidence=0.99, max_suggestions=5))
    strict.scoring.fill_bestsellers = False
    strict.set_policy(strict.policy)
    skus = [s.sku for s in strict.suggest(["DRILL-18V"])]
    assert skus == ["BITS"]          # 100% confident; the battery (80%) is filtered out


def test_bestseller_fill_is_labelled(arrays: RuleArrays) -> None:
    # the ranking (what offline hit rates score) fills with best sellers, said as such
    sugs = engine(arrays, max_suggestions=6).suggest(["DRILL-18V"], display=False)
    fills = [s for s in sugs if s.source in ("bestseller", "popular")]
    assert fills and all(s.rule_id is None for s in fills)
    # at the counter: none by default, at most one labelled card when the manager allows it
    shown = engine(arrays, max_suggestions=6).suggest(["DRILL-18V"])
    assert not [s for s in shown if s.source in ("bestseller", "popular")]
    allowed = engine(arrays, max_suggestions=6, bestseller_cards=1).suggest(["DRILL-18V"])
    fills = [s for s in allowed if s.source == "bestseller"]
    assert len(fills) == 1 and fills[0].reason.startswith("Best seller")


def test_stock_update_from_till(arrays: RuleArrays) -> None:
    e = engine(arrays)
    assert e.suggest(["DRILL-18V"])[0].sku == "BITS"
    products = dict(CATALOG)
    p = products["BITS"]
    products["BITS"] = Product(p.sku, p.name, p.category, p.family, p.price, p.cost, 0, True)
    e.set_products(products)
    assert "BITS" not in [s.sku for s in e.suggest(["DRILL-18V"])]


def test_margin_weighting_changes_order(arrays: RuleArrays) -> None:
    products = dict(CATALOG)
    g = products["GLOVES"]
    products["GLOVES"] = Product(g.sku, g.name, g.category, g.family, 100.0, 1.0, 50, True)
    plain = SuggestionEngine(arrays, products=products, policy=PolicySettings(max_suggestions=5))
    weighted = SuggestionEngine(arrays, products=products,
                                policy=PolicySettings(max_suggestions=5, margin_weight=5.0))
    s_plain = {s.sku: s.score for s in plain.suggest(["TAPE"], display=False)}
    s_w = {s.sku: s.score for s in weighted.suggest(["TAPE"], display=False)}
    assert s_w["GLOVES"] > s_plain["GLOVES"]


def test_an_upgrade_target_is_never_also_an_accessory(arrays: RuleArrays) -> None:
    for n in (1, 2, 3, 5, 8):
        sugs = engine(arrays, max_suggestions=n).suggest(["MOW-STD", "OIL-4T"])
        skus = [s.sku for s in sugs]
        assert len(skus) == len(set(skus)), skus
        assert [s.kind for s in sugs if s.sku == "MOW-DLX"] in ([], ["upgrade"])


def test_context_buckets_use_the_wall_clock_in_any_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sale rung up at 09:30 on a Saturday is a weekend morning wherever the machine is."""
    import calendar
    import time as _time

    from possuggest.core.context_time import bucket_label, bucket_of
    from possuggest.mining.miner import context_bucket

    saturday_0930 = float(calendar.timegm((2023, 11, 18, 9, 30, 0)))   # as read from a till
    for tz in ("UTC", "America/New_York", "Asia/Tokyo"):
        monkeypatch.setenv("TZ", tz)
        _time.tzset()
        assert bucket_label(bucket_of(saturday_0930)) == "weekend mornings"
        assert bucket_label(int(context_bucket(np.array([saturday_0930]))[0])) == "weekend mornings"
    monkeypatch.delenv("TZ")
    _time.tzset()
